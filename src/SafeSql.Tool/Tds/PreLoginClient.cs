using System.Buffers.Binary;

using SafeSql.Shared.Tds;

namespace SafeSql.Tool.Tds;

/// <summary>
/// A minimal TDS PRELOGIN client (MS-TDS 2.2.6.5): sends the options SqlClient sends (VERSION, ENCRYPTION, INSTOPT,
/// THREADID, MARS) and reads the server's VERSION and ENCRYPTION answer. It never logs in: the login step is SqlClient's.
/// </summary>
internal static class PreLoginClient
{
    /// <summary>Builds the PRELOGIN request packet with the client's ENCRYPTION byte.</summary>
    public static byte[] BuildRequest(byte encryption) => PreLoginPayload.BuildPacket(
        new(PreLoginPayload.OptionVersion, [0x10, 0x00, 0x00, 0x00, 0x00, 0x00]), // client version 16.0.0.0, sub-build 0
        new(PreLoginPayload.OptionEncryption, [encryption]),
        new(PreLoginPayload.OptionInstance, [0x00]),                  // the default instance (an empty string)
        new(PreLoginPayload.OptionThreadId, [0x00, 0x00, 0x00, 0x00]),
        new(PreLoginPayload.OptionMars, [0x00]));                     // MARS off

    /// <summary>Sends PRELOGIN on <paramref name="stream"/> and reads the server's reply.</summary>
    /// <exception cref="InvalidDataException">The server answered something other than a PRELOGIN reply.</exception>
    /// <exception cref="EndOfStreamException">The server closed the connection before answering.</exception>
    public static async Task<PreLoginResponse> ExchangeAsync(Stream stream, byte encryption, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(BuildRequest(encryption), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);

        using var payload = new MemoryStream();
        var header = new byte[TdsConstants.HeaderLength];
        while (true)
        {
            if (await stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) < header.Length)
            {
                throw new EndOfStreamException("The server closed the connection without answering PRELOGIN.");
            }

            if (header[0] != TdsConstants.PacketReply)
            {
                throw new InvalidDataException($"The server answered PRELOGIN with a TDS packet of type 0x{header[0]:X2}, not a reply (0x04): is this a SQL Server port?");
            }

            var body = new byte[TdsPacketHeader.ReadLength(header) - TdsConstants.HeaderLength];
            if (await stream.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) < body.Length)
            {
                throw new EndOfStreamException("The server closed the connection in the middle of its PRELOGIN reply.");
            }

            payload.Write(body);
            if (TdsPacketHeader.IsEndOfMessage(header))
            {
                return Parse(payload.ToArray());
            }
        }
    }

    /// <summary>Reads the VERSION and ENCRYPTION options of a PRELOGIN reply payload.</summary>
    public static PreLoginResponse Parse(ReadOnlySpan<byte> payload)
    {
        Version? version = null;
        if (PreLoginPayload.TryReadOption(payload, PreLoginPayload.OptionVersion, out var data) && data.Length >= 4)
        {
            version = new Version(data[0], data[1], BinaryPrimitives.ReadUInt16BigEndian(data[2..]));
        }

        var encryption = PreLoginPayload.TryReadOption(payload, PreLoginPayload.OptionEncryption, out data) && data.Length >= 1 ? data[0] : -1;
        return new PreLoginResponse(version, encryption);
    }
}

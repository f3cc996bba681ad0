using System.Buffers.Binary;

namespace SafeSql.Tool.Tds;

/// <summary>
/// A minimal TDS PRELOGIN client (MS-TDS 2.2.6.5): sends the options SqlClient sends (VERSION, ENCRYPTION, INSTOPT,
/// THREADID, MARS) and reads the server's VERSION and ENCRYPTION answer. It never logs in: the login step is SqlClient's.
/// </summary>
internal static class PreLoginClient
{
    public const int HeaderLength = 8;

    private const byte PacketPreLogin = 0x12;
    private const byte PacketReply = 0x04;
    private const byte StatusEndOfMessage = 0x01;
    private const byte OptionVersion = 0x00;
    private const byte OptionEncryption = 0x01;
    private const byte Terminator = 0xFF;

    /// <summary>Writes a PRELOGIN packet header (type 0x12, SPID 0, window 0).</summary>
    public static void WriteHeader(Span<byte> packet, bool endOfMessage, byte packetId)
    {
        packet[0] = PacketPreLogin;
        packet[1] = endOfMessage ? StatusEndOfMessage : (byte)0;
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(packet[4..], 0);
        packet[6] = packetId;
        packet[7] = 0;
    }

    /// <summary>Builds the PRELOGIN request packet with the client's ENCRYPTION byte.</summary>
    public static byte[] BuildRequest(byte encryption)
    {
        // Option table: 5 entries x 5 bytes + terminator; the data follows in the same order.
        (byte Token, byte[] Data)[] options =
        [
            (OptionVersion, [0x10, 0x00, 0x00, 0x00, 0x00, 0x00]), // client version 16.0.0.0, sub-build 0
            (OptionEncryption, [encryption]),
            (0x02, [0x00]),                                        // INSTOPT: the default instance (an empty string)
            (0x03, [0x00, 0x00, 0x00, 0x00]),                      // THREADID
            (0x04, [0x00]),                                        // MARS off
        ];
        var tableLength = (options.Length * 5) + 1;
        var payloadLength = tableLength + options.Sum(o => o.Data.Length);
        var packet = new byte[HeaderLength + payloadLength];
        WriteHeader(packet, endOfMessage: true, packetId: 1);
        var entry = HeaderLength;
        var offset = tableLength;
        foreach (var (token, data) in options)
        {
            packet[entry] = token;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(entry + 1), (ushort)offset);
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(entry + 3), (ushort)data.Length);
            data.CopyTo(packet.AsSpan(HeaderLength + offset));
            entry += 5;
            offset += data.Length;
        }

        packet[entry] = Terminator;
        return packet;
    }

    /// <summary>Sends PRELOGIN on <paramref name="stream"/> and reads the server's reply.</summary>
    /// <exception cref="InvalidDataException">The server answered something other than a PRELOGIN reply.</exception>
    /// <exception cref="EndOfStreamException">The server closed the connection before answering.</exception>
    public static async Task<PreLoginResponse> ExchangeAsync(Stream stream, byte encryption, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(BuildRequest(encryption), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);

        using var payload = new MemoryStream();
        var header = new byte[HeaderLength];
        while (true)
        {
            if (!await ReadExactlyOrEndAsync(stream, header, cancellationToken).ConfigureAwait(false))
            {
                throw new EndOfStreamException("The server closed the connection without answering PRELOGIN.");
            }

            if (header[0] != PacketReply)
            {
                throw new InvalidDataException($"The server answered PRELOGIN with a TDS packet of type 0x{header[0]:X2}, not a reply (0x04): is this a SQL Server port?");
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
            if (length < HeaderLength)
            {
                throw new InvalidDataException($"The server sent an invalid TDS packet length ({length}).");
            }

            var body = new byte[length - HeaderLength];
            if (!await ReadExactlyOrEndAsync(stream, body, cancellationToken).ConfigureAwait(false))
            {
                throw new EndOfStreamException("The server closed the connection in the middle of its PRELOGIN reply.");
            }

            payload.Write(body);
            if ((header[1] & StatusEndOfMessage) != 0)
            {
                return Parse(payload.ToArray());
            }
        }
    }

    /// <summary>Reads the VERSION and ENCRYPTION options of a PRELOGIN reply payload.</summary>
    public static PreLoginResponse Parse(ReadOnlySpan<byte> payload)
    {
        Version? version = null;
        var encryption = -1;
        for (var i = 0; i + 5 <= payload.Length && payload[i] != Terminator; i += 5)
        {
            int offset = BinaryPrimitives.ReadUInt16BigEndian(payload[(i + 1)..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(payload[(i + 3)..]);
            if (offset + length > payload.Length)
            {
                break;
            }

            var data = payload.Slice(offset, length);
            if (payload[i] == OptionVersion && length >= 4)
            {
                version = new Version(data[0], data[1], BinaryPrimitives.ReadUInt16BigEndian(data[2..]));
            }
            else if (payload[i] == OptionEncryption && length >= 1)
            {
                encryption = data[0];
            }
        }

        return new PreLoginResponse(version, encryption);
    }

    /// <summary>Fills <paramref name="buffer"/>; <see langword="false"/> when the stream ends first.</summary>
    public static async ValueTask<bool> ReadExactlyOrEndAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer[read..], cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }
}

using System.Buffers.Binary;

namespace SafeSql.Shared.Tds;

/// <summary>
/// The PRELOGIN payload (MS-TDS 2.2.6.5): an option table of 5-byte entries (token, big-endian offset and length of the
/// option's data from the start of the payload) ended by 0xFF, then the options' data in the same order.
/// </summary>
internal static class PreLoginPayload
{
    public const byte OptionVersion = 0x00;
    public const byte OptionEncryption = 0x01;
    public const byte OptionInstance = 0x02;
    public const byte OptionThreadId = 0x03;
    public const byte OptionMars = 0x04;
    public const byte Terminator = 0xFF;

    /// <summary>ENCRYPT_OFF: from a client, "encryption available, not wanted"; from the server, "TLS for LOGIN7 only".</summary>
    public const byte EncryptOff = 0x00;

    /// <summary>ENCRYPT_ON: encryption for the whole connection.</summary>
    public const byte EncryptOn = 0x01;

    /// <summary>ENCRYPT_NOT_SUP: no TLS; the only answer that keeps every client (SqlClient, FreeTDS, pytds) off TLS.</summary>
    public const byte EncryptNotSupported = 0x02;

    /// <summary>ENCRYPT_REQ: the server requires encryption for the whole connection.</summary>
    public const byte EncryptRequired = 0x03;

    private const int EntryLength = 5;

    /// <summary>The length of an option table of <paramref name="optionCount"/> entries, terminator included: where the
    /// first option's data starts.</summary>
    public static int TableLength(int optionCount) => (optionCount * EntryLength) + 1;

    /// <summary>Writes the option table for options with these tokens and data lengths; their data must follow it in the
    /// same order.</summary>
    /// <returns>The number of bytes written (<see cref="TableLength"/>).</returns>
    public static int WriteTable(Span<byte> destination, ReadOnlySpan<byte> tokens, ReadOnlySpan<ushort> lengths)
    {
        var offset = TableLength(tokens.Length);
        var entry = 0;
        for (var i = 0; i < tokens.Length; i++, entry += EntryLength)
        {
            destination[entry] = tokens[i];
            BinaryPrimitives.WriteUInt16BigEndian(destination[(entry + 1)..], (ushort)offset);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(entry + 3)..], lengths[i]);
            offset += lengths[i];
        }

        destination[entry] = Terminator;
        return entry + 1;
    }

    /// <summary>Builds a client's whole PRELOGIN packet (one packet, end of message, packet id 1, SPID 0).</summary>
    public static byte[] BuildPacket(params ReadOnlySpan<PreLoginOption> options)
    {
        Span<byte> tokens = stackalloc byte[options.Length];
        Span<ushort> lengths = stackalloc ushort[options.Length];
        var payloadLength = TableLength(options.Length);
        for (var i = 0; i < options.Length; i++)
        {
            tokens[i] = options[i].Token;
            lengths[i] = (ushort)options[i].Data.Length;
            payloadLength += options[i].Data.Length;
        }

        var packet = new byte[TdsConstants.HeaderLength + payloadLength];
        TdsPacketHeader.Write(packet, TdsConstants.PacketPreLogin, TdsConstants.StatusEndOfMessage, packet.Length, spid: 0, packetId: 1);
        var payload = packet.AsSpan(TdsConstants.HeaderLength);
        var position = WriteTable(payload, tokens, lengths);
        foreach (var option in options)
        {
            option.Data.CopyTo(payload[position..]);
            position += option.Data.Length;
        }

        return packet;
    }

    /// <summary>Finds option <paramref name="token"/> in a PRELOGIN payload.</summary>
    /// <returns><see langword="false"/> when the option is absent, or when an entry before it (or its own) points outside the
    /// payload: a malformed table is read no further.</returns>
    public static bool TryReadOption(ReadOnlySpan<byte> payload, byte token, out ReadOnlySpan<byte> data)
    {
        for (var i = 0; i + EntryLength <= payload.Length && payload[i] != Terminator; i += EntryLength)
        {
            int offset = BinaryPrimitives.ReadUInt16BigEndian(payload[(i + 1)..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(payload[(i + 3)..]);
            if (offset + length > payload.Length)
            {
                break;
            }

            if (payload[i] == token)
            {
                data = payload.Slice(offset, length);
                return true;
            }
        }

        data = default;
        return false;
    }
}

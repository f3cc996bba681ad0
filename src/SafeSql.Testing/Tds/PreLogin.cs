using System.Buffers.Binary;

namespace SafeSql.Testing.Tds;

/// <summary>PRELOGIN (MS-TDS 2.2.6.5): reads the client's ENCRYPTION option and writes the server's reply.</summary>
internal static class PreLogin
{
    /// <summary>ENCRYPT_NOT_SUP: the only answer that keeps every client (SqlClient, FreeTDS, pytds) off TLS.</summary>
    public const byte EncryptNotSupported = 0x02;

    /// <summary>Returns the client's ENCRYPTION byte, or -1 when the option is absent or the payload is malformed.</summary>
    public static int ReadClientEncryption(ReadOnlySpan<byte> payload)
    {
        var i = 0;
        while (i + 5 <= payload.Length && payload[i] != 0xFF)
        {
            var token = payload[i];
            int offset = BinaryPrimitives.ReadUInt16BigEndian(payload[(i + 1)..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(payload[(i + 3)..]);
            if (token == 0x01 && length >= 1 && offset < payload.Length)
            {
                return payload[offset];
            }

            i += 5;
        }

        return -1;
    }

    /// <summary>Writes VERSION, ENCRYPTION (0x02), INSTOPT, THREADID, MARS (off) and the terminator.</summary>
    public static void WriteReply(TdsWriter writer, Version version)
    {
        // Option table: 5 entries x 5 bytes + terminator = 26 bytes; data follows.
        const int tableLength = (5 * 5) + 1;
        var offset = tableLength;
        WriteOption(writer, 0x00, ref offset, 6); // VERSION
        WriteOption(writer, 0x01, ref offset, 1); // ENCRYPTION
        WriteOption(writer, 0x02, ref offset, 1); // INSTOPT
        WriteOption(writer, 0x03, ref offset, 4); // THREADID
        WriteOption(writer, 0x04, ref offset, 1); // MARS
        writer.WriteByte(0xFF);

        writer.WriteByte((byte)version.Major);
        writer.WriteByte((byte)version.Minor);
        var build = (ushort)Math.Max(version.Build, 0);
        writer.WriteByte((byte)(build >> 8));
        writer.WriteByte((byte)build);
        writer.WriteUInt16(0); // sub-build
        writer.WriteByte(EncryptNotSupported);
        writer.WriteByte(0x00); // INSTOPT: instance matches
        writer.WriteUInt32(0); // THREADID
        writer.WriteByte(0x00); // MARS off
    }

    private static void WriteOption(TdsWriter writer, byte token, ref int offset, ushort length)
    {
        Span<byte> entry = stackalloc byte[5];
        entry[0] = token;
        BinaryPrimitives.WriteUInt16BigEndian(entry[1..], (ushort)offset);
        BinaryPrimitives.WriteUInt16BigEndian(entry[3..], length);
        writer.WriteBytes(entry);
        offset += length;
    }
}

using System.Buffers.Binary;

namespace SafeSql.Testing.Tds;

/// <summary>PRELOGIN (MS-TDS 2.2.6.5): reads the client's ENCRYPTION option and writes the server's reply.</summary>
internal static class PreLogin
{
    /// <summary>ENCRYPT_OFF: from a client, "encryption available, not wanted"; from the server, "TLS for LOGIN7 only".</summary>
    public const byte EncryptOff = 0x00;

    /// <summary>ENCRYPT_ON: encryption for the whole connection.</summary>
    public const byte EncryptOn = 0x01;

    /// <summary>ENCRYPT_NOT_SUP: no TLS; the only answer that keeps every client (SqlClient, FreeTDS, pytds) off TLS.</summary>
    public const byte EncryptNotSupported = 0x02;

    /// <summary>ENCRYPT_REQ: the server requires encryption for the whole connection.</summary>
    public const byte EncryptRequired = 0x03;

    /// <summary>
    /// The server's ENCRYPTION answer to the client's, as SQL Server gives it (the table of MS-TDS 2.2.6.5, and SqlClient's own
    /// test server, tests/tools/TDS TDSUtilities.GetEncryptionResponse), and what the connection does next.
    /// </summary>
    /// <param name="client">The client's ENCRYPTION byte, or -1 when it sent none (treated as ENCRYPT_NOT_SUP).</param>
    /// <param name="mode">The server's configuration.</param>
    /// <returns>The byte to answer and the encryption both sides then use; <see cref="LoopbackConnectionEncryption.None"/> with
    /// ENCRYPT_REQ means the client cannot go on and will close the connection.</returns>
    public static (byte Answer, LoopbackConnectionEncryption Outcome) Negotiate(int client, LoopbackEncryption mode)
    {
        // The low bits carry the setting; 0x80 (ENCRYPT_CLIENT_CERT) may be OR-ed in by clients that offer a certificate.
        var setting = client < 0 ? EncryptNotSupported : client & 0x0F;
        return (mode, setting) switch
        {
            (LoopbackEncryption.NotSupported, _) => (EncryptNotSupported, LoopbackConnectionEncryption.None),
            (LoopbackEncryption.Supported, EncryptOff) => (EncryptOff, LoopbackConnectionEncryption.LoginOnly),
            (LoopbackEncryption.Supported, EncryptNotSupported) => (EncryptNotSupported, LoopbackConnectionEncryption.None),
            (LoopbackEncryption.Supported, _) => (EncryptOn, LoopbackConnectionEncryption.Tls),
            (LoopbackEncryption.Required, EncryptNotSupported) => (EncryptRequired, LoopbackConnectionEncryption.None),
            (LoopbackEncryption.Required, EncryptOff) => (EncryptRequired, LoopbackConnectionEncryption.Tls),
            _ => (EncryptOn, LoopbackConnectionEncryption.Tls),
        };
    }

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

    /// <summary>Writes VERSION, ENCRYPTION, INSTOPT, THREADID, MARS (off) and the terminator.</summary>
    public static void WriteReply(TdsWriter writer, Version version, byte encryption)
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
        writer.WriteByte(encryption);
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

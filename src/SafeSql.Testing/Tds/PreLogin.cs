namespace SafeSql.Testing.Tds;

/// <summary>PRELOGIN (MS-TDS 2.2.6.5), the server's side: reads the client's ENCRYPTION option and writes the server's reply.</summary>
internal static class PreLogin
{
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
        var setting = client < 0 ? PreLoginPayload.EncryptNotSupported : client & 0x0F;
        return (mode, setting) switch
        {
            (LoopbackEncryption.NotSupported, _) => (PreLoginPayload.EncryptNotSupported, LoopbackConnectionEncryption.None),
            (LoopbackEncryption.Supported, PreLoginPayload.EncryptOff) => (PreLoginPayload.EncryptOff, LoopbackConnectionEncryption.LoginOnly),
            (LoopbackEncryption.Supported, PreLoginPayload.EncryptNotSupported) => (PreLoginPayload.EncryptNotSupported, LoopbackConnectionEncryption.None),
            (LoopbackEncryption.Supported, _) => (PreLoginPayload.EncryptOn, LoopbackConnectionEncryption.Tls),
            (LoopbackEncryption.Required, PreLoginPayload.EncryptNotSupported) => (PreLoginPayload.EncryptRequired, LoopbackConnectionEncryption.None),
            (LoopbackEncryption.Required, PreLoginPayload.EncryptOff) => (PreLoginPayload.EncryptRequired, LoopbackConnectionEncryption.Tls),
            _ => (PreLoginPayload.EncryptOn, LoopbackConnectionEncryption.Tls),
        };
    }

    /// <summary>Returns the client's ENCRYPTION byte, or -1 when the option is absent or the payload is malformed.</summary>
    public static int ReadClientEncryption(ReadOnlySpan<byte> payload) =>
        PreLoginPayload.TryReadOption(payload, PreLoginPayload.OptionEncryption, out var data) && data.Length >= 1 ? data[0] : -1;

    /// <summary>Returns whether the client sent the FEDAUTHREQUIRED option (SqlClient always does; FreeTDS does not).</summary>
    public static bool ClientSentFedAuthRequired(ReadOnlySpan<byte> payload) =>
        PreLoginPayload.TryReadOption(payload, FedAuth.PreLoginOptionFedAuthRequired, out _);

    /// <summary>Writes VERSION, ENCRYPTION, INSTOPT, THREADID, MARS (off), FEDAUTHREQUIRED when asked, and the terminator.</summary>
    /// <param name="writer">The reply.</param>
    /// <param name="version">The server's version.</param>
    /// <param name="encryption">The ENCRYPTION answer.</param>
    /// <param name="fedAuthRequired">Whether to answer FEDAUTHREQUIRED with 0x01, as Azure SQL does: the client then echoes
    /// it in the FEDAUTH feature extension of LOGIN7. Sent only to a client that sent the option (MS-TDS 2.2.6.5).</param>
    public static void WriteReply(TdsWriter writer, Version version, byte encryption, bool fedAuthRequired = false)
    {
        ReadOnlySpan<byte> tokens = fedAuthRequired
            ?
            [
                PreLoginPayload.OptionVersion, PreLoginPayload.OptionEncryption, PreLoginPayload.OptionInstance,
                PreLoginPayload.OptionThreadId, PreLoginPayload.OptionMars, FedAuth.PreLoginOptionFedAuthRequired,
            ]
            :
            [
                PreLoginPayload.OptionVersion, PreLoginPayload.OptionEncryption, PreLoginPayload.OptionInstance,
                PreLoginPayload.OptionThreadId, PreLoginPayload.OptionMars,
            ];
        Span<byte> table = stackalloc byte[PreLoginPayload.TableLength(tokens.Length)];
        PreLoginPayload.WriteTable(table, tokens, fedAuthRequired ? [6, 1, 1, 4, 1, 1] : [6, 1, 1, 4, 1]);
        writer.WriteBytes(table);

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
        if (fedAuthRequired)
        {
            writer.WriteByte(0x01);
        }
    }
}

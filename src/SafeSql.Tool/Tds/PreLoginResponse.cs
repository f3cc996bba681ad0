namespace SafeSql.Tool.Tds;

/// <summary>What the server said in its PRELOGIN reply (MS-TDS 2.2.6.5).</summary>
/// <param name="ServerVersion">The VERSION option: major.minor.build (SQL Server 2022 is 16.0.x).</param>
/// <param name="Encryption">The ENCRYPTION option: 0 ENCRYPT_OFF (login only), 1 ENCRYPT_ON, 2 ENCRYPT_NOT_SUP, 3 ENCRYPT_REQ.</param>
internal sealed record PreLoginResponse(Version? ServerVersion, int Encryption)
{
    public const byte EncryptOff = 0x00;
    public const byte EncryptOn = 0x01;
    public const byte EncryptNotSupported = 0x02;
    public const byte EncryptRequired = 0x03;

    /// <summary>Gets the ENCRYPTION answer in words.</summary>
    public string EncryptionText => (Encryption & 0x0F) switch
    {
        EncryptOff => "ENCRYPT_OFF (TLS for the login only)",
        EncryptOn => "ENCRYPT_ON (TLS for the whole connection)",
        EncryptNotSupported => "ENCRYPT_NOT_SUP (no TLS)",
        EncryptRequired => "ENCRYPT_REQ (TLS required)",
        _ => $"0x{Encryption:X2} (unknown)",
    };
}

using SafeSql.Shared.Tds;

namespace SafeSql.Tool.Tds;

/// <summary>What the server said in its PRELOGIN reply (MS-TDS 2.2.6.5).</summary>
/// <param name="ServerVersion">The VERSION option: major.minor.build (SQL Server 2022 is 16.0.x).</param>
/// <param name="Encryption">The ENCRYPTION option: 0 ENCRYPT_OFF (login only), 1 ENCRYPT_ON, 2 ENCRYPT_NOT_SUP, 3 ENCRYPT_REQ.</param>
internal sealed record PreLoginResponse(Version? ServerVersion, int Encryption)
{
    /// <summary>Gets the ENCRYPTION answer in words.</summary>
    public string EncryptionText => (Encryption & 0x0F) switch
    {
        PreLoginPayload.EncryptOff => "ENCRYPT_OFF (TLS for the login only)",
        PreLoginPayload.EncryptOn => "ENCRYPT_ON (TLS for the whole connection)",
        PreLoginPayload.EncryptNotSupported => "ENCRYPT_NOT_SUP (no TLS)",
        PreLoginPayload.EncryptRequired => "ENCRYPT_REQ (TLS required)",
        _ => $"0x{Encryption:X2} (unknown)",
    };
}

namespace SafeSql.Testing;

/// <summary>What a connection to a <see cref="LoopbackSqlServer"/> was encrypted with, as recorded in
/// <see cref="LoopbackLogin.Encryption"/>.</summary>
public enum LoopbackConnectionEncryption
{
    /// <summary>No TLS: everything, the password included, travelled in clear (the server or the client does not support
    /// encryption).</summary>
    None = 0,

    /// <summary>TDS 7.x, TLS for LOGIN7 only: both sides said ENCRYPT_OFF (SqlClient <c>Encrypt=Optional</c>, FreeTDS
    /// <c>encryption = request</c>); the password was encrypted, every later request and result travels in clear.</summary>
    LoginOnly = 1,

    /// <summary>TDS 7.x, TLS 1.2 for the whole connection, negotiated in PRELOGIN (SqlClient <c>Encrypt=Mandatory</c>, the default).</summary>
    Tls = 2,

    /// <summary>TDS 8.0: TLS first, before any TDS byte, with ALPN <c>tds/8.0</c> (SqlClient <c>Encrypt=Strict</c>).</summary>
    Tds8 = 3,
}

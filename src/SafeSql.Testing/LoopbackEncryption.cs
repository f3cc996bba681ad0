namespace SafeSql.Testing;

/// <summary>
/// How a <see cref="LoopbackSqlServer"/> answers the ENCRYPTION option of PRELOGIN (MS-TDS 2.2.6.5), i.e. which SQL Server
/// configuration it plays. The answers follow SQL Server's (and SqlClient's own test server's) negotiation table.
/// </summary>
/// <seealso cref="LoopbackSqlServerOptions.Encryption"/>
public enum LoopbackEncryption
{
    /// <summary>No TLS at all: the server answers ENCRYPT_NOT_SUP, as a SQL Server without a usable certificate or an old
    /// test double. A client with <c>Encrypt=Mandatory</c> (SqlClient's default since 4.0) fails with error 20 ("The instance
    /// of SQL Server you attempted to connect to does not support encryption."); a TLS-first (<c>Encrypt=Strict</c>) connect
    /// is closed.</summary>
    NotSupported = 0,

    /// <summary>SQL Server out of the box (Force Encryption = No, certificate present): a client asking for encryption (ENCRYPT_ON)
    /// gets TLS for the whole connection; a client sending ENCRYPT_OFF (<c>Encrypt=Optional</c>/<c>False</c>) gets TLS for
    /// LOGIN7 only, after which both sides continue in clear; a client without TLS (ENCRYPT_NOT_SUP) stays in clear.</summary>
    Supported = 1,

    /// <summary>SQL Server with Force Encryption = Yes: every client gets TLS for the whole connection (ENCRYPT_REQ to a client
    /// that sent ENCRYPT_OFF); a client without TLS support gives up.</summary>
    Required = 2,
}

namespace SafeSql.ConnectionStrings;

/// <summary>
/// The catalog of the connection-string policy's rules (SAFESQL001 to SAFESQL014), each with its id, title, severity and
/// source. <see cref="SqlConnectionStringPolicy.Validate"/> reports a <see cref="SqlConnectionStringFinding"/> per rule broken.
/// </summary>
/// <remarks>The rules, their reasons and their thresholds are explained in <c>docs/connection-string-policy.md</c>.</remarks>
public static class SqlConnectionStringRules
{
    private const string KeywordsSource = "https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnection.connectionstring";
    private const string PoolingSource = "https://learn.microsoft.com/sql/connect/ado-net/sql-server-connection-pooling";
    private const string EncryptionSource = "https://learn.microsoft.com/sql/connect/ado-net/encryption-and-certificate-validation";

    /// <summary>Gets SAFESQL001: the connection string cannot be parsed (an error).</summary>
    /// <value>Source: the connection string syntax and SqlClient's "Format of the initialization string does not conform to
    /// specification" error.</value>
    public static SqlConnectionStringRule Malformed { get; } = new(
        "SAFESQL001",
        "Malformed connection string",
        null,
        SqlConnectionStringFindingSeverity.Error,
        "https://learn.microsoft.com/dotnet/framework/data/adonet/connection-string-syntax (SqlClient: \"Format of the initialization string does not conform to specification\")");

    /// <summary>Gets SAFESQL002: a keyword the loaded Microsoft.Data.SqlClient does not support (an error).</summary>
    /// <value>Source: the SqlClient keyword list and SqlClient's "Keyword not supported" error.</value>
    public static SqlConnectionStringRule UnknownKeyword { get; } = new(
        "SAFESQL002",
        "Unknown keyword",
        null,
        SqlConnectionStringFindingSeverity.Error,
        KeywordsSource + " (SqlClient: \"Keyword not supported\")");

    /// <summary>Gets SAFESQL003: a keyword whose value SqlClient refuses, such as <c>Max Pool Size=abc</c> (an error).</summary>
    /// <value>Source: the SqlClient keyword list and SqlClient's "Invalid value for key" error.</value>
    public static SqlConnectionStringRule InvalidValue { get; } = new(
        "SAFESQL003",
        "Invalid value",
        null,
        SqlConnectionStringFindingSeverity.Error,
        KeywordsSource + " (SqlClient: \"Invalid value for key\")");

    /// <summary>Gets SAFESQL004: <c>Pooling=false</c> (an error unless
    /// <see cref="SqlConnectionStringPolicyOptions.AllowPoolingDisabled"/> makes it a warning).</summary>
    /// <value>Source: SQL Server connection pooling (ADO.NET).</value>
    public static SqlConnectionStringRule PoolingDisabled { get; } = new(
        "SAFESQL004",
        "Pooling disabled",
        "Pooling",
        SqlConnectionStringFindingSeverity.Error,
        PoolingSource);

    /// <summary>Gets SAFESQL005: <c>Connection Lifetime</c> / <c>Load Balance Timeout</c> above 0 without
    /// <see cref="SqlConnectionStringPolicyOptions.AllowConnectionLifetime"/> (an error).</summary>
    /// <value>Source: SqlConnectionStringBuilder.LoadBalanceTimeout ("useful in clustered configurations").</value>
    public static SqlConnectionStringRule ConnectionLifetimeSet { get; } = new(
        "SAFESQL005",
        "Connection Lifetime set",
        "Load Balance Timeout",
        SqlConnectionStringFindingSeverity.Error,
        "https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnectionstringbuilder.loadbalancetimeout (\"useful in clustered configurations to force load balancing between a running server and a server just brought online\")");

    /// <summary>Gets SAFESQL006: <c>Connection Lifetime</c> below
    /// <see cref="SqlConnectionStringPolicyOptions.MinConnectionLifetime"/> although allowed (an error).</summary>
    /// <value>Source: a closed TCP connection keeps its local port in TIME_WAIT for 60 s on Linux (TCP_TIMEWAIT_LEN, fixed in
    /// the kernel) and 120 s on Windows (TcpTimedWaitDelay; 240 s before Windows Server 2003).</value>
    public static SqlConnectionStringRule ConnectionLifetimeTooShort { get; } = new(
        "SAFESQL006",
        "Connection Lifetime too short",
        "Load Balance Timeout",
        SqlConnectionStringFindingSeverity.Error,
        "https://learn.microsoft.com/troubleshoot/windows-client/networking/tcp-ip-port-exhaustion-troubleshooting (TIME_WAIT: " + TcpFacts.TimeWaitDurations + ")");

    /// <summary>Gets SAFESQL007: <c>Connect Timeout=0</c>, an infinite wait (an error).</summary>
    /// <value>Source: IDbConnection.ConnectionTimeout ("A value of 0 indicates no limit ... and should be avoided").</value>
    public static SqlConnectionStringRule ConnectTimeoutInfinite { get; } = new(
        "SAFESQL007",
        "Connect Timeout infinite",
        "Connect Timeout",
        SqlConnectionStringFindingSeverity.Error,
        "https://learn.microsoft.com/dotnet/api/system.data.idbconnection.connectiontimeout (\"A value of 0 indicates no limit to the wait time ... and should be avoided in a ConnectionString\")");

    /// <summary>Gets SAFESQL008: <c>Connect Timeout</c> above
    /// <see cref="SqlConnectionStringPolicyOptions.ConnectTimeoutLimit"/> (an error).</summary>
    /// <value>Source: SQL Server connection pooling (a request for a pooled connection waits up to Connect Timeout).</value>
    public static SqlConnectionStringRule ConnectTimeoutTooLong { get; } = new(
        "SAFESQL008",
        "Connect Timeout too long",
        "Connect Timeout",
        SqlConnectionStringFindingSeverity.Error,
        PoolingSource + " (a request for a pooled connection waits up to Connect Timeout)");

    /// <summary>Gets SAFESQL009: <c>Max Pool Size</c> above
    /// <see cref="SqlConnectionStringPolicyOptions.MaxPoolSizeLimit"/> (an error).</summary>
    /// <value>Source: SQL Server connection pooling, and SQL Server's limit of 32,767 user connections.</value>
    public static SqlConnectionStringRule MaxPoolSizeTooLarge { get; } = new(
        "SAFESQL009",
        "Max Pool Size too large",
        "Max Pool Size",
        SqlConnectionStringFindingSeverity.Error,
        PoolingSource + " and https://learn.microsoft.com/sql/database-engine/configure-windows/configure-the-user-connections-server-configuration-option");

    /// <summary>Gets SAFESQL010: <c>Min Pool Size</c> greater than <c>Max Pool Size</c> (an error).</summary>
    /// <value>Source: SqlClient's error "Invalid min or max pool size values, min pool size cannot be greater than the max pool
    /// size."</value>
    public static SqlConnectionStringRule MinPoolSizeAboveMax { get; } = new(
        "SAFESQL010",
        "Min Pool Size above Max Pool Size",
        "Min Pool Size",
        SqlConnectionStringFindingSeverity.Error,
        "SqlClient error \"Invalid min or max pool size values, min pool size cannot be greater than the max pool size.\" (" + PoolingSource + ")");

    /// <summary>Gets SAFESQL011: no <c>Data Source</c> (an error).</summary>
    /// <value>Source: the SqlClient keyword list.</value>
    public static SqlConnectionStringRule DataSourceMissing { get; } = new(
        "SAFESQL011",
        "Data Source missing",
        "Data Source",
        SqlConnectionStringFindingSeverity.Error,
        KeywordsSource);

    /// <summary>Gets SAFESQL012: one setting given twice under different spellings, such as <c>Timeout</c> and
    /// <c>Connect Timeout</c> (a warning).</summary>
    /// <value>Source: the SqlClient keyword list (synonyms) and DbConnectionStringBuilder ("the last value wins").</value>
    public static SqlConnectionStringRule DuplicateKeyword { get; } = new(
        "SAFESQL012",
        "Setting given twice",
        null,
        SqlConnectionStringFindingSeverity.Warning,
        KeywordsSource + " (synonyms of one keyword, the last value wins)");

    /// <summary>Gets SAFESQL013: <c>TrustServerCertificate=True</c>, which turns off the validation of the server's certificate (an
    /// error towards a server that is not on the loopback interface unless
    /// <see cref="SqlConnectionStringPolicyOptions.AllowTrustServerCertificate"/> makes it a warning; a warning towards loopback).</summary>
    /// <value>Source: "Encryption and certificate validation" ("TLS can be made secure only with certificate validation") and
    /// SqlConnectionStringBuilder.TrustServerCertificate ("bypass walking the certificate chain to validate trust").</value>
    public static SqlConnectionStringRule TrustServerCertificate { get; } = new(
        "SAFESQL013",
        "Server certificate not validated",
        "Trust Server Certificate",
        SqlConnectionStringFindingSeverity.Error,
        EncryptionSource + " (\"Transport Security Layer (TLS) can be made secure only with certificate validation\") and https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnectionstringbuilder.trustservercertificate (\"bypass walking the certificate chain to validate trust\")");

    /// <summary>Gets SAFESQL014: <c>Encrypt=False</c> or <c>Optional</c> towards a server that is not on the loopback interface (a
    /// warning, unless <see cref="SqlConnectionStringPolicyOptions.AllowUnencryptedConnection"/> is set).</summary>
    /// <value>Source: "Encryption and certificate validation" (SQL Server always encrypts the login packets; the rest is
    /// encrypted only when the client or the server asks for it) and SqlConnectionStringBuilder.Encrypt.</value>
    public static SqlConnectionStringRule EncryptionOff { get; } = new(
        "SAFESQL014",
        "Connection not encrypted",
        "Encrypt",
        SqlConnectionStringFindingSeverity.Warning,
        EncryptionSource + " (\"SQL Server always encrypts network packets associated with logging in\") and https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnectionstringbuilder.encrypt");

    /// <summary>Gets every rule, in id order.</summary>
    /// <value>SAFESQL001 to SAFESQL014.</value>
    public static IReadOnlyList<SqlConnectionStringRule> All { get; } =
    [
        Malformed,
        UnknownKeyword,
        InvalidValue,
        PoolingDisabled,
        ConnectionLifetimeSet,
        ConnectionLifetimeTooShort,
        ConnectTimeoutInfinite,
        ConnectTimeoutTooLong,
        MaxPoolSizeTooLarge,
        MinPoolSizeAboveMax,
        DataSourceMissing,
        DuplicateKeyword,
        TrustServerCertificate,
        EncryptionOff,
    ];
}

using System.ComponentModel.DataAnnotations;

namespace SafeSql.ConnectionStrings;

/// <summary>
/// Thresholds and opt-ins of the connection-string policy (<see cref="SqlConnectionStringPolicy"/>). Every threshold has a
/// documented default and reason; the defaults refuse the settings that hide connection leaks or churn ports.
/// </summary>
/// <remarks>
/// The rules, their ids and their sources are listed in <see cref="SqlConnectionStringRules"/> and in
/// <c>docs/connection-string-policy.md</c>. Thresholds judge values written in the connection string: SqlClient's own
/// defaults (Max Pool Size 100, Connect Timeout 15 seconds) are always accepted.
/// </remarks>
public class SqlConnectionStringPolicyOptions
{
    /// <summary>
    /// Gets or sets the largest <c>Max Pool Size</c> accepted (rule <see cref="SqlConnectionStringRules.MaxPoolSizeTooLarge"/>,
    /// SAFESQL009).
    /// </summary>
    /// <value>A number of connections per pool, from 1 to 32,767. The default value is 1000: ten times SqlClient's default of
    /// 100.</value>
    /// <remarks>
    /// A pool larger than this almost always hides leaked connections: pool timeouts come back later, after thousands of
    /// sessions have piled up on the server, each one costing server memory and a worker. SQL Server accepts at most
    /// 32,767 user connections for all its clients together (source: "Server configuration: user connections",
    /// https://learn.microsoft.com/sql/database-engine/configure-windows/configure-the-user-connections-server-configuration-option),
    /// and Azure SQL Database limits concurrent workers per service tier to hundreds or a few thousand. Raise the limit only for
    /// a process that really runs more than 1000 statements at the same time against one database.
    /// </remarks>
    [Range(1, PolicyDefaults.SqlServerMaxUserConnections)]
    public int MaxPoolSizeLimit { get; set; } = PolicyDefaults.MaxPoolSizeLimit;

    /// <summary>
    /// Gets or sets the longest <c>Connect Timeout</c> accepted (rule <see cref="SqlConnectionStringRules.ConnectTimeoutTooLong"/>,
    /// SAFESQL008). <c>Connect Timeout=0</c> (wait forever) is always refused (SAFESQL007).
    /// </summary>
    /// <value>A duration from 1 second to 1 day; the connection string's value is in whole seconds. The default value is
    /// 2 minutes (120 seconds): eight times SqlClient's default of 15 seconds.</value>
    /// <remarks>
    /// SqlClient uses <c>Connect Timeout</c> both for the login and for waiting for a free pooled connection
    /// (source: https://learn.microsoft.com/sql/connect/ado-net/sql-server-connection-pooling), so a huge value turns a leak or
    /// an unreachable server into requests that hang instead of failing with a diagnosable error. Two minutes leaves room for
    /// slow cross-region logins and for an Azure SQL serverless database resuming from pause (about a minute), while still
    /// refusing the <c>Connect Timeout=40000</c> kind of workaround.
    /// </remarks>
    [Range(typeof(TimeSpan), PolicyDefaults.PolicyTimeSpanMinimum, PolicyDefaults.PolicyTimeSpanMaximum)]
    public TimeSpan ConnectTimeoutLimit { get; set; } = TimeSpan.FromSeconds(PolicyDefaults.ConnectTimeoutLimitSeconds);

    /// <summary>
    /// Gets or sets a value indicating whether <c>Connection Lifetime</c> (also spelled <c>Load Balance Timeout</c>) may be set,
    /// for a load-balanced cluster (rule <see cref="SqlConnectionStringRules.ConnectionLifetimeSet"/>, SAFESQL005).
    /// </summary>
    /// <value><see langword="true"/> to accept a <c>Connection Lifetime</c> of at least <see cref="MinConnectionLifetime"/>.
    /// The default value is <see langword="false"/>: any <c>Connection Lifetime</c> above 0 is refused.</value>
    /// <remarks>
    /// SqlClient documents <c>Connection Lifetime</c> for clustered configurations, "to force load balancing between a running
    /// server and a server just brought online" (source:
    /// https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnectionstringbuilder.loadbalancetimeout). Elsewhere it
    /// is a workaround for leaks or stale connections that makes the pool reconnect continually.
    /// </remarks>
    public bool AllowConnectionLifetime { get; set; }

    /// <summary>
    /// Gets or sets the shortest <c>Connection Lifetime</c> accepted when <see cref="AllowConnectionLifetime"/> is
    /// <see langword="true"/> (rule <see cref="SqlConnectionStringRules.ConnectionLifetimeTooShort"/>, SAFESQL006).
    /// </summary>
    /// <value>A duration from 1 second to 1 day; the connection string's value is in whole seconds. The default value is
    /// 1 minute (60 seconds).</value>
    /// <remarks>
    /// Every connection the pool destroys leaves a local port in TIME_WAIT for 60 seconds on Linux (120 seconds on
    /// Windows: TcpTimedWaitDelay; 240 seconds before Windows Server 2003). With a lifetime of at least 60 seconds, a pool of N connections keeps at most about N ports in TIME_WAIT on
    /// Linux; <c>Connection Lifetime=1</c> reconnects up to N times a second, close to running without a pool.
    /// </remarks>
    [Range(typeof(TimeSpan), PolicyDefaults.PolicyTimeSpanMinimum, PolicyDefaults.PolicyTimeSpanMaximum)]
    public TimeSpan MinConnectionLifetime { get; set; } = TimeSpan.FromSeconds(PolicyDefaults.MinConnectionLifetimeSeconds);

    /// <summary>
    /// Gets or sets a value indicating whether <c>Pooling=false</c> is reported as a warning instead of being refused
    /// (rule <see cref="SqlConnectionStringRules.PoolingDisabled"/>, SAFESQL004).
    /// </summary>
    /// <value>The default value is <see langword="false"/>: <c>Pooling=false</c> is refused.</value>
    /// <remarks>
    /// Meant for a process that must not pool, such as a one-shot tool, and for comparing pooled with unpooled behaviour. The
    /// warning is still logged at startup (event <see cref="Diagnostics.SafeSqlEventId.ConnectionStringWarning"/>).
    /// </remarks>
    public bool AllowPoolingDisabled { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether <c>TrustServerCertificate=True</c> towards a server that is not on the loopback
    /// interface is reported as a warning instead of being refused (rule <see cref="SqlConnectionStringRules.TrustServerCertificate"/>,
    /// SAFESQL013).
    /// </summary>
    /// <value>The default value is <see langword="false"/>: it is refused.</value>
    /// <remarks>
    /// <c>TrustServerCertificate=True</c> keeps TLS but accepts any certificate, so the client no longer knows it talks to its
    /// server: whoever can intercept the connection reads the password and the data ("Transport Security Layer (TLS) can be made
    /// secure only with certificate validation", https://learn.microsoft.com/sql/connect/ado-net/encryption-and-certificate-validation).
    /// Pin the server's certificate with <c>Server Certificate</c> (SqlClient 6.0.1+) or install its issuing CA instead. Under
    /// <c>Encrypt=Strict</c> SqlClient ignores the keyword, so the rule does not apply.
    /// </remarks>
    public bool AllowTrustServerCertificate { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether <c>TrustServerCertificate=True</c> towards the loopback interface (<c>localhost</c>,
    /// <c>127.0.0.0/8</c>, <c>::1</c>, <c>.</c>, <c>(local)</c>) is only a warning (rule
    /// <see cref="SqlConnectionStringRules.TrustServerCertificate"/>, SAFESQL013).
    /// </summary>
    /// <value>The default value is <see langword="true"/>: a warning. <see langword="false"/> judges the loopback interface like
    /// any other server, for a local server that stands in for a remote one.</value>
    /// <remarks>
    /// Traffic to the loopback interface does not leave the machine, so nobody can intercept it; the same string pointed at
    /// another server would. Host names other than <c>localhost</c> are not resolved: they count as remote.
    /// </remarks>
    public bool AllowTrustServerCertificateOnLoopback { get; set; } = true;

    /// <summary>
    /// Gets or sets a value indicating whether <c>Encrypt=False</c> or <c>Encrypt=Optional</c> towards a server that is not on the
    /// loopback interface is accepted without a warning (rule <see cref="SqlConnectionStringRules.EncryptionOff"/>, SAFESQL014).
    /// </summary>
    /// <value>The default value is <see langword="false"/>: a warning.</value>
    /// <remarks>
    /// With <c>Encrypt=False</c>/<c>Optional</c> the password travels in a TLS session used for the login only (whose certificate
    /// is not validated) and every query and row after it in clear, unless the server forces encryption ("SQL Server always
    /// encrypts network packets associated with logging in",
    /// https://learn.microsoft.com/sql/connect/ado-net/encryption-and-certificate-validation). Set this only for a network where
    /// the data may travel in clear.
    /// </remarks>
    public bool AllowUnencryptedConnection { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether the normalized connection string gets an <c>Application Name</c> when it has none.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    /// <remarks>
    /// SQL Server shows the application name in <c>sys.dm_exec_sessions.program_name</c> and in traces, so a database
    /// administrator can tell which application holds sessions. Without it every SqlClient application shows as
    /// "Core Microsoft SqlClient Data Provider". An <c>Application Name</c> given in the connection string is always kept.
    /// </remarks>
    public bool SetApplicationNameWhenMissing { get; set; } = true;

    /// <summary>
    /// Gets or sets the <c>Application Name</c> added when the connection string has none and
    /// <see cref="SetApplicationNameWhenMissing"/> is <see langword="true"/>.
    /// </summary>
    /// <value>At most 128 characters (SQL Server's limit for the application name). The default value is
    /// <see langword="null"/>: the name of the entry assembly (for example "OrdersApi"), or "SafeSql" when there is none.</value>
    [MaxLength(PolicyDefaults.ApplicationNameMaxLength)]
    public string? ApplicationName { get; set; }
}

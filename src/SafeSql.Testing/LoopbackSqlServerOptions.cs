using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace SafeSql.Testing;

/// <summary>Options for <see cref="LoopbackSqlServer.StartAsync(LoopbackSqlServerOptions?, CancellationToken)"/>.</summary>
/// <remarks>The options are read once, when the server starts; later changes have no effect. Faults that can change at
/// run time live on <see cref="LoopbackSqlServer.Faults"/>.</remarks>
public sealed class LoopbackSqlServerOptions
{
    /// <summary>The user name accepted by default.</summary>
    public const string DefaultUserName = "sa";

    /// <summary>The password accepted by default. It is a fixed, public development credential of the loopback server,
    /// not a secret: the server only listens on 127.0.0.1.</summary>
    public const string DefaultPassword = "SafeSql-Loopback-1";

    /// <summary>Gets or sets the TCP port to listen on, on 127.0.0.1.</summary>
    /// <value>The default value is 0: the operating system picks a free port (read it from <see cref="LoopbackSqlServer.Port"/>).</value>
    public int Port { get; set; }

    /// <summary>Gets or sets the IPv4 address to listen on.</summary>
    /// <value>The default value is <see cref="IPAddress.Loopback"/> (127.0.0.1): only this machine can connect.</value>
    /// <remarks>Another address serves clients in other network namespaces, for example the server host of a
    /// <see cref="Network.WebFarm"/> (its <see cref="Network.WebFarm.Server"/> host). <see cref="LoopbackSqlServer.ConnectionString"/>
    /// and <see cref="LoopbackSqlServer.EndPoint"/> carry this address (127.0.0.1 when it is <see cref="IPAddress.Any"/>).
    /// The server has a fixed, public development password: never listen on an address reachable from other machines.</remarks>
    public IPAddress ListenAddress { get; set; } = IPAddress.Loopback;

    /// <summary>Gets or sets the listen backlog passed to <c>listen(2)</c>: how many connections the kernel completes and queues
    /// before the server accepts them.</summary>
    /// <value>The default value is 512. Linux caps it at <c>net.core.somaxconn</c> (4096 on recent kernels).</value>
    /// <remarks>With a small backlog and <see cref="LoopbackSqlServerFaults.AcceptDelay"/>, a connect burst overflows the
    /// accept queue (Linux counts it in TcpExt ListenOverflows). Linux drops a SYN that arrives while the queue is full (the
    /// client retries it after 1 s, 3 s, ... and ends in a connect failure); a handshake that completes while the queue is full
    /// has its last ACK dropped with the default <c>net.ipv4.tcp_abort_on_overflow=0</c> (the client believes it is connected
    /// and times out waiting for the PRELOGIN reply) or is reset (RST, refused) with 1. See docs/loopback-server.md.</remarks>
    public int ListenBacklog { get; set; } = 512;

    /// <summary>Gets or sets the only login name accepted (compared ignoring case, like SQL Server logins under a
    /// case-insensitive server collation); <see langword="null"/> accepts any name.</summary>
    /// <value>The default value is <c>"sa"</c> (<see cref="DefaultUserName"/>).</value>
    public string? UserName { get; set; } = DefaultUserName;

    /// <summary>Gets or sets the only password accepted (compared ordinally); <see langword="null"/> accepts any password.</summary>
    /// <value>The default value is <see cref="DefaultPassword"/>.</value>
    /// <remarks>A wrong name or password fails the login with error 18456, class 14, state 1, "Login failed for user '...'.",
    /// as SQL Server reports it to clients.</remarks>
    public string? Password { get; set; } = DefaultPassword;

    /// <summary>Gets or sets the server name written into error and info messages (the <c>ServerName</c> field of the ERROR
    /// token) and returned by <c>SELECT @@SERVERNAME</c>. SqlClient's <c>SqlError.Server</c> shows the client's Data Source instead.</summary>
    /// <value>The default value is <c>"SAFESQL-LOOPBACK"</c>.</value>
    public string ServerName { get; set; } = "SAFESQL-LOOPBACK";

    /// <summary>Gets or sets the first session id (SPID) handed out; each new connection gets the next one. SQL Server reserves
    /// the ids below 51 for system sessions.</summary>
    /// <value>The default value is 51.</value>
    public int FirstSessionId { get; set; } = 51;

    /// <summary>Gets or sets how many recent logins <see cref="LoopbackSqlServer.Logins"/> keeps.</summary>
    /// <value>The default value is 256.</value>
    public int MaxRecordedLogins { get; set; } = 256;

    /// <summary>Gets or sets how the server answers the client's encryption request in PRELOGIN: which SQL Server configuration
    /// it plays.</summary>
    /// <value>The default value is <see cref="LoopbackEncryption.Supported"/>, what SQL Server 2022 does out of the box: TLS for
    /// every client that asks for it, with a self-signed certificate.</value>
    /// <remarks><see cref="LoopbackEncryption.NotSupported"/> is the server without TLS: a client with SqlClient's default
    /// <c>Encrypt=Mandatory</c> fails with error 20, and <see cref="LoopbackSqlServer.ConnectionString"/> then carries
    /// <c>Encrypt=False</c>. TDS 7.x TLS is limited to TLS 1.2: SQL Server documents TLS 1.3 only for TDS 8.0, and a server that
    /// allows 1.3 inside PRELOGIN breaks SqlClient's switch from framed to raw TLS records (post-handshake messages cross it).</remarks>
    public LoopbackEncryption Encryption { get; set; } = LoopbackEncryption.Supported;

    /// <summary>Gets or sets the server certificate, with its private key; <see langword="null"/> generates a self-signed one
    /// for this server (RSA 2048, SHA-256, subject <c>CN=localhost</c>, subject alternative names <c>localhost</c> and
    /// <c>127.0.0.1</c>, valid from a day ago for a year; the certificates generated in one process share one key, because
    /// generating an RSA key costs hundreds of milliseconds).</summary>
    /// <value>The default value is <see langword="null"/> (a certificate generated per server).</value>
    /// <remarks>Ignored when <see cref="Encryption"/> is <see cref="LoopbackEncryption.NotSupported"/>. The server does not
    /// dispose a certificate you supply. Its public part is written to <see cref="LoopbackSqlServer.CertificatePath"/>.</remarks>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Gets or sets whether the server speaks TDS 8.0 (SqlClient <c>Encrypt=Strict</c>): TLS first, before any TDS
    /// byte, with ALPN <c>tds/8.0</c>, then PRELOGIN inside TLS (TLS 1.2 or 1.3), as SQL Server 2022 does on the same port as
    /// TDS 7.x. <see langword="false"/> plays a server that only speaks TDS 7.4 (SQL Server 2019 and older): it reads the
    /// client's TLS ClientHello as a malformed PRELOGIN and closes the connection.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    /// <remarks>Without encryption (<see cref="LoopbackEncryption.NotSupported"/>) TDS 8.0 is never spoken.</remarks>
    public bool SupportsTds8 { get; set; } = true;

    /// <summary>Gets or sets federated authentication (Microsoft Entra ID access tokens, as Azure SQL accepts them);
    /// <see langword="null"/> plays a server without it, which ignores a client's FEDAUTHREQUIRED and fails a login that
    /// presents a token with error 18456.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    /// <remarks>See <see cref="LoopbackFederatedAuthenticationOptions"/> and docs/loopback-server.md ("Federated
    /// authentication").</remarks>
    public LoopbackFederatedAuthenticationOptions? FederatedAuthentication { get; set; }

    /// <summary>Gets or sets the time provider used for <c>WAITFOR DELAY</c>, login and accept delays, and
    /// <c>SYSUTCDATETIME()</c>.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}

using System.Security.Cryptography.X509Certificates;

namespace SafeSql.Testing;

/// <summary>
/// Faults a <see cref="LoopbackSqlServer"/> injects, switchable at run time from any thread. Each one reproduces, on the wire,
/// what a real SQL Server or its host does in that situation, so the real client reacts as it would in production.
/// docs/loopback-server.md lists what Microsoft.Data.SqlClient reports for each.
/// </summary>
/// <remarks>SqlClient's pool remembers a failed open for 5 s and longer ("blocking period"): in tests that switch a fault off
/// and expect the next open to succeed, use <c>Pooling=false</c> or a fresh pool (e.g. a unique <c>Application Name</c>).</remarks>
public sealed class LoopbackSqlServerFaults
{
    private readonly LoopbackSqlServer _server;
    private volatile bool _resetOnAccept;
    private volatile bool _resetDuringLogin;
    private volatile bool _ignorePrelogin;
    private volatile bool _resetDuringTlsHandshake;
    private volatile bool _expiredCertificate;
    private volatile bool _certificateNameMismatch;
    private volatile bool _resetAfterCommit;
    private volatile Func<LoopbackRequest, bool>? _resetAfterExecuting;
    private long _loginDelayTicks;
    private long _acceptDelayTicks;
    private int _failLoginsWithError;

    internal LoopbackSqlServerFaults(LoopbackSqlServer server)
    {
        _server = server;
    }

    /// <summary>Gets or sets whether the server refuses new connections. <see langword="true"/> closes the listening socket, so
    /// the kernel answers every connect with RST (ECONNREFUSED), as when SQL Server is not running; open connections stay.
    /// <see langword="false"/> listens again on the same port.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    /// <exception cref="ObjectDisposedException">Set after the server was disposed.</exception>
    /// <exception cref="System.Net.Sockets.SocketException">Set to <see langword="false"/> while another socket took the port.</exception>
    public bool RefuseConnections
    {
        get => _server.IsRefusing;
        set => _server.SetRefusing(value);
    }

    /// <summary>Gets or sets whether every accepted connection is reset (RST, <c>SO_LINGER</c> 0) before the PRELOGIN reply,
    /// as a crashing listener or a middlebox would.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ResetOnAccept
    {
        get => _resetOnAccept;
        set => _resetOnAccept = value;
    }

    /// <summary>Gets or sets whether the connection is reset (RST) when the LOGIN7 request arrives, after PRELOGIN succeeded.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ResetDuringLogin
    {
        get => _resetDuringLogin;
        set => _resetDuringLogin = value;
    }

    /// <summary>Gets or sets whether the server accepts TCP connections but never answers PRELOGIN, as a hung server does; the
    /// client gives up after its <c>Connect Timeout</c>.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool IgnorePrelogin
    {
        get => _ignorePrelogin;
        set => _ignorePrelogin = value;
    }

    /// <summary>Gets or sets how long the server waits after LOGIN7 before answering it (a slow login: busy server, slow
    /// authentication). Longer than the client's <c>Connect Timeout</c> produces a connect timeout.</summary>
    /// <value>The default value is <see cref="TimeSpan.Zero"/>.</value>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative value.</exception>
    public TimeSpan LoginDelay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _loginDelayTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            Interlocked.Exchange(ref _loginDelayTicks, value.Ticks);
        }
    }

    /// <summary>Gets or sets a SQL error number every login fails with (for example 18456 login failed, 4060 cannot open database,
    /// 40613 database not currently available, 40501 service busy); <see langword="null"/> lets logins succeed. Class and message
    /// follow SQL Server's for the known numbers (see docs/loopback-server.md); other numbers use class 14.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    /// <remarks>SqlClient retries the login itself, after <c>Connect Retry Interval</c> (10 s), for 4060, 10928, 10929, 40197,
    /// 40501, 40613, 42108 and 42109 unless <c>Connect Retry Count=0</c>, which <see cref="LoopbackSqlServer.ConnectionString"/> sets.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">Set to zero or a negative number.</exception>
    public int? FailLoginsWithError
    {
        get
        {
            var value = Volatile.Read(ref _failLoginsWithError);
            return value == 0 ? null : value;
        }

        set
        {
            if (value is not null)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value.Value);
            }

            Volatile.Write(ref _failLoginsWithError, value ?? 0);
        }
    }

    /// <summary>Gets or sets how long the accept loop waits before each <c>accept(2)</c>, making the server slow to take
    /// connections off the kernel's queue. With a small <see cref="LoopbackSqlServerOptions.ListenBacklog"/> a connect burst
    /// overflows the queue.</summary>
    /// <value>The default value is <see cref="TimeSpan.Zero"/>.</value>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative value.</exception>
    public TimeSpan AcceptDelay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _acceptDelayTicks));
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            Interlocked.Exchange(ref _acceptDelayTicks, value.Ticks);
        }
    }

    /// <summary>Gets or sets whether the server resets the connection (RST) in the middle of the TLS handshake: once the
    /// client's ClientHello arrived, before the server answers it, as a crashing server or a middlebox that drops TLS does. Applies
    /// to TDS 7.x (handshake inside PRELOGIN, after the PRELOGIN exchange) and TDS 8.0 (TLS first) alike; the client fails
    /// inside its handshake (SqlClient: "SSL Provider, error: 31", inner <see cref="System.IO.IOException"/> connection
    /// reset).</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ResetDuringTlsHandshake
    {
        get => _resetDuringTlsHandshake;
        set => _resetDuringTlsHandshake = value;
    }

    /// <summary>Gets or sets whether the server presents an expired certificate (self-signed, names <c>localhost</c> and
    /// <c>127.0.0.1</c>, valid until yesterday) instead of <see cref="LoopbackSqlServer.Certificate"/>, as a server whose
    /// certificate nobody renewed.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    /// <remarks>A client that validates the chain sees the expiry (and the untrusted self-signed root); a client that pins
    /// <see cref="LoopbackSqlServer.CertificatePath"/> sees a certificate that does not match the pinned one; a client with
    /// <c>TrustServerCertificate=True</c> (not under <c>Encrypt=Strict</c>) sees nothing.</remarks>
    public bool ExpiredCertificate
    {
        get => _expiredCertificate;
        set => _expiredCertificate = value;
    }

    /// <summary>Gets or sets whether the server presents a certificate issued for another host (self-signed, only name
    /// <c>safesql-other-host.invalid</c>) instead of <see cref="LoopbackSqlServer.Certificate"/>, as when a client reaches a
    /// server through an alias, an IP address or a load balancer name that the certificate does not list.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    /// <remarks>A client that validates the chain sees the name mismatch (and the untrusted self-signed root);
    /// <c>HostNameInCertificate=safesql-other-host.invalid</c> names the expected host. When
    /// <see cref="ExpiredCertificate"/> is also set, the expired certificate wins.</remarks>
    public bool CertificateNameMismatch
    {
        get => _certificateNameMismatch;
        set => _certificateNameMismatch = value;
    }

    /// <summary>
    /// Gets or sets which requests the server executes and then answers with a reset (RST) instead of its reply: the change is
    /// applied (<see cref="LoopbackSqlServerCounters.RowsWritten"/> counts rows written outside a transaction; inside one they
    /// are rolled back with it, as the connection dies), and the client never learns it, as when a server or the network fails
    /// between executing a statement and answering it. SqlClient reports a transport-level error (Number 0 on Linux, 10054 on
    /// Windows) and the caller cannot tell whether the statement ran. Asked once per SQL batch or RPC, before the server
    /// executes it; <see langword="null"/> resets nothing.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    /// <remarks>Every matching request is reset, replays included: a client that replays the request applies it again, which
    /// the counters show.</remarks>
    public Func<LoopbackRequest, bool>? ResetAfterExecuting
    {
        get => _resetAfterExecuting;
        set => _resetAfterExecuting = value;
    }

    /// <summary>
    /// Gets or sets whether the server commits a transaction and then resets the connection (RST) instead of answering the
    /// COMMIT: the transaction's rows are applied (<see cref="LoopbackSqlServerCounters.TransactionsCommitted"/>,
    /// <see cref="LoopbackSqlServerCounters.RowsWritten"/>) and the client never learns it, the "commit outcome unknown" case
    /// of every database client. Applies to the COMMIT that ends the outermost transaction, from
    /// <c>SqlTransaction.Commit</c> (a transaction-manager request) or from SQL text; every such COMMIT while it is set.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ResetAfterCommit
    {
        get => _resetAfterCommit;
        set => _resetAfterCommit = value;
    }

    /// <summary>Replaces the server's certificate, as an operator renewing or re-issuing it does: from the next TLS handshake on the
    /// server presents the new one. A client that pinned the old one (<c>Server Certificate=</c> the old
    /// <see cref="LoopbackSqlServer.CertificatePath"/>) fails; <see cref="LoopbackSqlServer.ConnectionString"/> pins the new one.
    /// Open connections keep their TLS session.</summary>
    /// <param name="certificate">The new certificate, with its private key; <see langword="null"/> generates a new self-signed
    /// one with the same names.</param>
    /// <returns>The certificate the server presents from now on (<see cref="LoopbackSqlServer.Certificate"/>).</returns>
    /// <exception cref="InvalidOperationException">The server does not support encryption
    /// (<see cref="LoopbackEncryption.NotSupported"/>).</exception>
    /// <exception cref="ArgumentException"><paramref name="certificate"/> has no private key.</exception>
    public X509Certificate2 RotateCertificate(X509Certificate2? certificate = null) => _server.RotateCertificate(certificate);

    /// <summary>Expires the access token of every open session that logged in with one, as when Azure SQL revalidates a
    /// session's token after its validation cache was reset (maintenance, reconfiguration) and finds it expired: each such
    /// session's next request, and every one after it, fails with error 37396, class 14, "Query cannot be executed, access
    /// token is expired. Please login with a new access token and execute query again." The connection stays open (class
    /// below 20); only a new login with a new token recovers, as the SqlClient maintainers advise (dotnet/SqlClient#2792,
    /// #3245). Sessions that log in later are not affected.</summary>
    /// <returns>The number of sessions whose token was expired.</returns>
    /// <remarks>A pooled SqlClient connection keeps its session: close and reopen hands back the same expired session until
    /// the pool is cleared (<c>SqlConnection.ClearPool</c>). <see cref="LoopbackSqlServerCounters.ExpiredTokenRequests"/>
    /// counts the refused requests.</remarks>
    public int ExpireSessionTokens() => _server.ExpireSessionTokens();

    /// <summary>Aborts every open connection from the server side (RST), as when the server process dies or a DBA kills the
    /// sessions. The listener keeps accepting new connections.</summary>
    /// <returns>The number of connections aborted.</returns>
    public int KillAllConnections() => _server.AbortAllSessions();
}

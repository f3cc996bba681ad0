namespace SafeSql;

/// <summary>
/// What went wrong when SQL Server could not be reached or a command failed, as decided by
/// <see cref="SqlFailureClassifier"/>. Each kind calls for a different response; see
/// <see cref="SqlFailure.Explanation"/> for the fix.
/// </summary>
/// <remarks>
/// The kinds and the evidence behind each are documented, with sources, in <c>docs/failure-classification.md</c>.
/// </remarks>
public enum SqlFailureKind
{
    /// <summary>The exception is not a recognized SQL Server failure (for example a bug in the calling code). Never retried.</summary>
    Unknown = 0,

    /// <summary>
    /// The connection pool timed out: every pooled connection was leased for longer than <c>Connect Timeout</c>
    /// (SqlClient's <see cref="InvalidOperationException"/> "Timeout expired. The timeout period elapsed prior to
    /// obtaining a connection from the pool", also when SafeSql wraps it). Usually a connection leak; raising
    /// <c>Max Pool Size</c> only hides it. Also SqlClient's <see cref="TimeoutException"/> for too many simultaneous
    /// <c>Pooling=false</c> opens. Never retried: the caller already waited the whole <c>Connect Timeout</c>.
    /// </summary>
    PoolTimeout = 1,

    /// <summary>
    /// The client ran out of ephemeral (local) TCP ports towards the server: connections are being opened and closed
    /// faster than TIME_WAIT releases their ports (60 s on Linux, 120 s on Windows: TcpTimedWaitDelay; 240 s before Windows
    /// Server 2003). Linux reports EADDRNOTAVAIL (99,
    /// <see cref="System.Net.Sockets.SocketError.AddressNotAvailable"/>); Windows WSAEADDRINUSE (10048) or WSAENOBUFS
    /// (10055). Only reported when the operating system's socket counts corroborate it. The fix is connection pooling.
    /// </summary>
    SocketExhaustion = 2,

    /// <summary>
    /// The server actively refused the TCP connection (ECONNREFUSED, 10061): nothing listens on the port (server down
    /// or restarting, wrong port); a diagnostic connect is refused too. Transient: retried with jittered exponential backoff.
    /// A refusal while the server is accepting other connections is <see cref="ListenBacklogOverflow"/>.
    /// </summary>
    ConnectionRefused = 3,

    /// <summary>
    /// Opening the connection took longer than <c>Connect Timeout</c> (SQL error -2 during the pre-login or login
    /// handshake, or WSAETIMEDOUT 10060): the server accepted TCP but did not answer in time, or the host is unreachable.
    /// Opening is idempotent, so it is retried.
    /// </summary>
    ConnectTimeout = 4,

    /// <summary>
    /// A command ran longer than its <c>CommandTimeout</c> (SQL error -2 "Execution Timeout Expired"). The command may have
    /// executed (fully or partly), so it is retried only when the caller marks the operation idempotent.
    /// </summary>
    CommandTimeout = 5,

    /// <summary>
    /// An established connection was broken (reset, aborted or closed by the server: 10053, 10054, a transport-level
    /// error). When it happened after the request was sent, the request may have executed.
    /// </summary>
    ConnectionBroken = 6,

    /// <summary>
    /// The server reported a transient error: a deadlock victim (1205), a lock timeout (1222), Azure SQL throttling or
    /// failover (40501, 40613, 40197, 49918...). See <see cref="TransientSqlErrors"/> for every number, its meaning and source.
    /// </summary>
    TransientServerError = 7,

    /// <summary>
    /// The login was rejected (18456 "Login failed for user", 18452, 18470, 18486, 18487, 18488). Never retried:
    /// the credentials or permissions must be fixed.
    /// </summary>
    AuthenticationFailure = 8,

    /// <summary>
    /// The host or network cannot be reached: the host name does not resolve (11001), there is no route (10051, 10065),
    /// or the address cannot be used from this host (EADDRNOTAVAIL without port exhaustion, as for <c>[::1]</c> in a
    /// container without IPv6).
    /// </summary>
    NetworkUnreachable = 9,

    /// <summary>
    /// The server rejected the request for a reason that will not change by retrying: a syntax error (102), a missing
    /// object (208), a constraint violation (2627, 547), a user error raised by the code (50000). Never retried.
    /// </summary>
    Permanent = 10,

    /// <summary>
    /// The connection could not be encrypted: the server's TLS certificate was rejected (untrusted chain, expired, name
    /// mismatch, or no longer the certificate pinned with <c>Server Certificate</c>: SqlClient's Number -2146893019 with an
    /// inner <see cref="System.Security.Authentication.AuthenticationException"/>), the server does not support encryption
    /// (Number 20), or the TLS handshake was reset or refused while opening (provider error 31), as happens with
    /// <c>Encrypt=Strict</c> against a server without TDS 8.0. Never retried: the certificate, the server's TLS settings or the
    /// connection string must change. <see cref="SqlFailure.Explanation"/> names the cause found and its fix.
    /// </summary>
    EncryptionFailure = 11,

    /// <summary>
    /// The server's listen backlog (its accept queue) overflowed under a burst of connects: the connection was reset before
    /// the server answered the pre-login (the "ACK+RESET" of Windows, and of Linux with <c>net.ipv4.tcp_abort_on_overflow=1</c>),
    /// or its SYN was dropped until the connect timed out (258; Linux' default), while the server was up and accepting other
    /// connections: a diagnostic connect to it was accepted (or got no answer right after a reset from the same host), or the
    /// pool held open connections to it. Sporadic, unlike <see cref="ConnectionRefused"/> (nothing listens, every attempt refused).
    /// Transient: retried with jittered backoff so the clients' retries spread out instead of colliding again. The fix is on
    /// both sides: pool connections (and warm the pool with <c>Min Pool Size</c> where the burst comes at start-up) and raise the
    /// server's backlog (<c>net.core.somaxconn</c> and the listen backlog). Decided by <see cref="SqlFailureClassifier"/> from
    /// the evidence described in <c>docs/failure-classification.md</c>.
    /// </summary>
    ListenBacklogOverflow = 12,

    /// <summary>
    /// The data source's circuit breaker is open: the server was seen unavailable (refused, unreachable, connect timeouts
    /// without an accepting listener, Azure SQL failover errors 40613/40197/49918-49920, 4060 while a database recovers), so
    /// the open failed at once, without a connect, instead of holding the caller for retries that cannot succeed. Thrown as
    /// <see cref="SqlServerUnavailableException"/>; one probe at a time (a TCP connect and a PRELOGIN exchange) watches for the
    /// server's return and closes the breaker. Never retried by SafeSql: a later call succeeds once the server is back.
    /// </summary>
    CircuitOpen = 13,
}

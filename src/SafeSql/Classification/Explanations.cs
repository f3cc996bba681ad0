using System.Globalization;
using System.Net;
using System.Net.Sockets;

using SafeSql.ConnectionStrings;
using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>The explanation paragraphs of <see cref="SqlFailure"/>: what happened, the evidence, what to do. No connection string, no password.</summary>
internal static partial class Explanations
{
    internal const string PoolTimeout =
        "The connection pool timed out: every pooled connection stayed in use for the whole Connect Timeout (SqlClient's " +
        "InvalidOperationException \"Timeout expired. The timeout period elapsed prior to obtaining a connection from the pool\"). " +
        "This is almost always a connection leak: connections opened and not disposed (for example when an exception skips Close()), " +
        "or held across slow work. Dispose every connection (await using) and find the holders in SafeSql's leak reports; raising " +
        "Max Pool Size only hides the leak. Not retried: the caller already waited the whole Connect Timeout.";

    /// <summary>A pool timeout of a pool that was not full, told for the pool this process uses (<see cref="SqlClientPoolVersion"/>).</summary>
    internal static string PoolTimeoutWhileCreating => SqlClientPoolVersion.IsV2 ? PoolTimeoutWhileCreatingV2 : PoolTimeoutWhileCreatingV1;

    private const string PoolTimeoutWhileCreatingV1 =
        "The connection pool timed out although it was not full (fewer connections leased through SafeSql than Max Pool Size): " +
        "SqlClient creates a pool's new connections one at a time, so while the server does not answer a connect (a dropped SYN, " +
        "a full listen backlog, a restart), every open queued behind that creation times out with the pool's message. Transient: " +
        "retried once with jittered backoff. If it recurs without server trouble, code that opens the same connection string " +
        "without SafeSql may hold the other connections.";

    private const string PoolTimeoutWhileCreatingV2 =
        "The connection pool timed out although it was not full (fewer connections leased through SafeSql than Max Pool Size): " +
        "SqlClient's pool v2 (Switch.Microsoft.Data.SqlClient.UseConnectionPoolV2) creates new connections in parallel but counts " +
        "those being created against Max Pool Size, so while the server does not answer a connect (a dropped SYN, a full listen " +
        "backlog, a restart), the opens beyond Max Pool Size wait behind those creations and time out with the pool's message. " +
        "Transient: retried once with jittered backoff. If it recurs without server trouble, code that opens the same connection " +
        "string without SafeSql may hold the other connections.";

    internal const string NonPooledOpenTimeout =
        "Timed out waiting to start a non-pooled open: too many simultaneous opens with Pooling=false (SqlClient's " +
        "TimeoutException \"Timeout attempting to open the connection\"). Every non-pooled open is a new TCP connection, " +
        "a new login and, after it closes, a port in TIME_WAIT. Enable connection pooling. Not retried.";

    internal const string Canceled = "The operation was canceled by the caller; SafeSql does not retry a cancellation.";

    internal const string NetworkPathNotFound =
        "The network path to the server was not found (error 53): the host name or instance does not exist, or Named Pipes is " +
        "used where TCP is expected. Check the Data Source (use tcp:host,port) and that the server is reachable from this host.";

    internal const string TcpConnectTimeout =
        "The TCP connection to the server timed out (SqlClient 6.1+: SqlException Number 258 \"The connection attempt timed out\"; " +
        "WSAETIMEDOUT 10060): the host does not answer, because it is down, a firewall " +
        "drops the packets, or its listen backlog is full and SYNs are dropped. Transient: retried with jittered backoff; if it " +
        "persists, check the host, the port and the firewall.";

    internal const string TooManyOpenSockets =
        "The process ran out of file descriptors (EMFILE/ENFILE, SocketError.TooManyOpenSockets): this is descriptor exhaustion, " +
        "not ephemeral port exhaustion. Dispose connections (so the pool can reuse them) and raise the open-files limit " +
        "(ulimit -n, LimitNOFILE) if the load is legitimate. Not retried.";

    internal const string ConnectTimeout =
        "Opening the connection timed out (SQL error -2 during the pre-login or login handshake): the server accepted the TCP " +
        "connection but did not complete the handshake within Connect Timeout, because it is overloaded, paused, not SQL Server, or " +
        "TLS negotiation stalled. Opening is idempotent, so it is retried with jittered backoff; if it persists, check the server's " +
        "load and its error log, and keep Connect Timeout near its default of 15 s.";

    internal const string CommandTimeout =
        "The command ran longer than its CommandTimeout (SQL error -2 \"Execution Timeout Expired\"; the client sent an attention and " +
        "the server cancelled the batch). It may have executed partly or fully (a write may have committed), so it is retried only " +
        "when the operation is marked idempotent. Find the slow query or the blocking (sys.dm_exec_requests, lock waits, missing " +
        "indexes) before raising CommandTimeout (default 30 s).";

    internal const string AmbiguousPrefix =
        "SqlClient could not open a TCP connection and lost the socket error (SqlException Number 0, \"TCP Provider, error: 35\", " +
        "inner SocketException with error code Success: SqlClient reads the socket's state before its error on Linux), so SafeSql " +
        "asked the operating system.";

    private const string ExhaustionWhy =
        "Each connection the client closes keeps its local port in TIME_WAIT (" + TcpFacts.TimeWaitDurations + "), so opening and " +
        "closing connections faster than the range allows (28,232 ports / 60 s, about 470 per second towards one server with " +
        "Linux defaults) exhausts it.";

    private const string ExhaustionFix =
        "Enable connection pooling (remove Pooling=false) and dispose connections so they return to the pool; do not retry at once, " +
        "since ports free up only as TIME_WAIT expires and every retry takes another one.";

    private const string RefusalFix =
        "Transient: retry with jittered exponential backoff; if it persists, check that SQL Server runs and listens on that port.";

    internal static string TransientServerError(int number, string description, bool mayHaveExecuted) =>
        string.Create(CultureInfo.InvariantCulture, $"SQL Server reported transient error {number}: {description} Retry after a short, jittered backoff") +
        (mayHaveExecuted
            ? "; the request may have executed, so retry the whole unit of work (the transaction) and only when it is idempotent."
            : "; it was raised during login, so nothing was executed and retrying is safe.");

    internal static string AuthenticationFailure(int number) =>
        string.Create(CultureInfo.InvariantCulture, $"The login was rejected (SQL error {number}: {AuthenticationMeaning(number)}). ") +
        "Retrying cannot help: fix the user name, password, default database or permissions (the server's error log gives the " +
        "reason as the state of error 18456). With pooling, SqlClient rethrows this error without trying again during the pool's " +
        "blocking period (5 s, doubling to 60 s). Not retried.";

    internal static string ConnectionBrokenDuringLogin(int number) =>
        string.Create(CultureInfo.InvariantCulture, $"The connection broke while logging in (error {number}: {TransientSqlErrors.GetDescription(number)}) ") +
        "Nothing was executed. Transient: retried with jittered backoff; if it persists, check the server's load and its connection limit.";

    internal static string Permanent(int number, byte severity) =>
        string.Create(CultureInfo.InvariantCulture, $"SQL Server rejected the request with error {number} (severity {severity}). ") +
        "Retrying cannot change the outcome: fix the statement, the data or the schema (SqlException.Message has the server's text). Not retried.";

    internal static string ConnectionBroken(SocketError? error, bool mayHaveExecuted)
    {
        var what = error is { } socketError
            ? string.Create(CultureInfo.InvariantCulture, $"socket error {socketError} ({(int)socketError})")
            : "a transport-level error";
        return string.Create(CultureInfo.InvariantCulture, $"The connection was broken by {what}: the server or the network reset or closed it") +
            (mayHaveExecuted
                ? " after the request may have been sent, so it may have executed. The pool discards the broken connection; retry only if the operation is idempotent."
                : " while opening, so nothing was executed. Transient: retried with jittered backoff.");
    }

    internal static string ConnectionRefused(string target) =>
        string.Create(CultureInfo.InvariantCulture, $"The server refused the TCP connection to {target} (ECONNREFUSED, 10061): nothing listens on that port ") +
        "(server stopped or restarting, wrong port), or its listen backlog overflowed under a connect burst. " + RefusalFix;

    internal static string NetworkUnreachable(SocketError error) =>
        string.Create(CultureInfo.InvariantCulture, $"The server's host cannot be reached ({error}, {(int)error}): the name does not resolve or there is no route to it. ") +
        "Check the Data Source and DNS; a resolver hiccup (HostNotFound, TryAgain) can be transient.";

    internal static string SocketExhaustion(SafeSqlTcpSnapshot snapshot, SocketError? error, bool fromDiagnosticConnect = false)
    {
        var who = fromDiagnosticConnect ? "a diagnostic connect to the same endpoint" : "the connect";
        var evidence = error switch
        {
            SocketError.AddressNotAvailable => $"; {who} failed with AddressNotAvailable (EADDRNOTAVAIL, 99 on Linux: no free local port)",
            SocketError.AddressAlreadyInUse => $"; {who} failed with AddressAlreadyInUse (WSAEADDRINUSE, 10048: no free dynamic port)",
            SocketError.NoBufferSpaceAvailable => $"; {who} failed with NoBufferSpaceAvailable (WSAENOBUFS, 10055: no free dynamic port or buffer)",
            _ => string.Empty,
        };
        var corroboration = snapshot.HasCounts && !snapshot.IndicatesExhaustion
            ? " The counts do not show the range full towards this server: other processes or other destinations may hold the ports (Windows shares one range machine-wide)."
            : snapshot.HasCounts ? string.Empty : " The socket counts could not be read, so this rests on the socket error alone.";
        return string.Create(CultureInfo.InvariantCulture, $"The client ran out of ephemeral TCP ports: {snapshot}{evidence}.{corroboration} ") + ExhaustionWhy + " " + ExhaustionFix;
    }

    internal static string AddressNotAvailableWithoutExhaustion(string target, IPEndPoint? endPoint, SafeSqlTcpSnapshot snapshot)
    {
        var ipv6 = endPoint?.AddressFamily == AddressFamily.InterNetworkV6
            ? string.Create(CultureInfo.InvariantCulture, $" The server address {endPoint.Address} is IPv6: connect to 127.0.0.1 or an IPv4 address, or enable IPv6 on this host.")
            : " Check that the Data Source names an address this host can reach.";
        return string.Create(CultureInfo.InvariantCulture, $"Connecting to {target} failed with AddressNotAvailable (EADDRNOTAVAIL), but the figures rule out port exhaustion: {snapshot}. ") +
            "EADDRNOTAVAIL also occurs when this host has no usable source address for the destination, typically an IPv6 address " +
            "such as [::1] in a container or host without IPv6." + ipv6 + " Not retried.";
    }

    internal static string RefusedByProbe(string target, SafeSqlTcpSnapshot snapshot) =>
        string.Create(CultureInfo.InvariantCulture, $"A diagnostic connect to {target} was refused (ECONNREFUSED) and {snapshot}, so this is a refusal, not port exhaustion: ") +
        "nothing listens on that port (server stopped or restarting, wrong port) or its listen backlog overflowed. " + RefusalFix;

    internal static string ProbeTimedOut(string target) =>
        string.Create(CultureInfo.InvariantCulture, $"A diagnostic connect to {target} got no answer within {ClassificationDefaults.DiagnosticConnectTimeoutMilliseconds} ms: the host is down, a firewall drops the packets, or its listen backlog is full. ") +
        "Transient: retried with jittered backoff; if it persists, check the host and the firewall.";

    /// <summary>Why and what to do, for every listen-backlog overflow (the Microsoft article on stress failures of non-pooled connections).</summary>
    private const string OverflowWhyAndFix =
        "Under a burst of connects (many web servers reconnecting at once, a pool refilling after a restart, unpooled opens) the " +
        "server's accept queue fills faster than it accepts, and its TCP stack rejects the excess with a reset (Windows; Linux with " +
        "net.ipv4.tcp_abort_on_overflow=1) or drops their SYNs (Linux' default) while other connections succeed: sporadic, unlike a " +
        "server that is down. Transient: retried with jittered backoff so the clients' retries spread out instead of colliding " +
        "again. Fix: keep connection pooling on and dispose connections (a pooled client opens few connections), warm the pool " +
        "with Min Pool Size where the burst comes at start-up, and raise the server's backlog (Linux: net.core.somaxconn and the " +
        "listen backlog it caps; the counters TcpExt ListenOverflows and ListenDrops in /proc/net/netstat count the overflows).";

    internal static string ResetByFullBacklog(string target, SocketError? probe, int openConnections, bool acceptedRecently, bool overflowedRecently = false) =>
        string.Create(CultureInfo.InvariantCulture, $"The server at {target} reset the connection before answering the pre-login, yet ") +
        AcceptingEvidence(probe, openConnections, acceptedRecently, overflowedRecently, hostAnswered: true) + ", so its listen backlog overflowed. " + OverflowWhyAndFix;

    internal static string SynDroppedByFullBacklog(string target, SocketError? probe, int openConnections, bool acceptedRecently, bool overflowedRecently = false) =>
        string.Create(CultureInfo.InvariantCulture, $"The TCP connect to {target} got no answer within Connect Timeout (SqlException 258: its SYN was dropped), yet ") +
        AcceptingEvidence(probe, openConnections, acceptedRecently, overflowedRecently, hostAnswered: false) + ", so the server is up and dropped the SYN because its listen backlog was full. " + OverflowWhyAndFix;

    internal static string RefusedWhileAccepting(string target, SocketError probe, int openConnections, bool acceptedRecently, bool overflowedRecently = false) =>
        string.Create(CultureInfo.InvariantCulture, $"The connect to {target} was refused or reset, yet ") +
        AcceptingEvidence(probe, openConnections, acceptedRecently, overflowedRecently, hostAnswered: true) + ", so the server is up and its listen backlog overflowed. " + OverflowWhyAndFix;

    internal static string RefusedWhileResetting(string target) =>
        string.Create(CultureInfo.InvariantCulture, $"The connect to {target} was refused or reset, and a diagnostic connect right after was accepted, then reset within {ClassificationDefaults.ResetWatchMilliseconds} ms without a byte sent: ") +
        "the server's TCP stack resets handshakes that find its accept queue full, so its listen backlog overflowed and the reset met the connect. " + OverflowWhyAndFix;

    internal static string RefusedAfterRecentOverflow(string target) =>
        string.Create(CultureInfo.InvariantCulture, $"The connect to {target} was refused or reset, a diagnostic connect right after was accepted, and {target}'s listen backlog was seen overflowing within the last {ClassificationDefaults.RecentOverflowSeconds} s (a dropped SYN or a reset before the pre-login while it accepted), ") +
        "so this is the same overflow: its reset met the connect. " + OverflowWhyAndFix;

    internal static string RefusedThenListening(string target) =>
        string.Create(CultureInfo.InvariantCulture, $"The connect to {target} was refused, and a diagnostic connect right after was accepted and kept (no reset within {ClassificationDefaults.ResetWatchMilliseconds} ms): ") +
        "nothing listened when SqlClient connected and the server listens again now, so it has just started or restarted (a full accept queue on Linux drops the SYN or resets after the handshake; it does not refuse). " + RefusalFix;

    internal static string HandshakeCutThenRefused(string target) =>
        string.Create(CultureInfo.InvariantCulture, $"The server at {target} cut the TLS handshake while opening (SqlException Number 0, \"SSL Provider, error: 31\"), and a diagnostic connect right after was refused (ECONNREFUSED): ") +
        "the server stopped listening in the middle of the handshake (stopping or restarting), not a TLS problem. " + RefusalFix;

    internal static string ResetThenRefused(string target) =>
        string.Create(CultureInfo.InvariantCulture, $"The server at {target} reset the connection before answering the pre-login, and a diagnostic connect right after was refused (ECONNREFUSED): ") +
        "the server stopped listening (stopping or restarting). " + RefusalFix;

    internal static string TimedOutThenRefused(string target) =>
        string.Create(CultureInfo.InvariantCulture, $"The TCP connect to {target} got no answer within Connect Timeout (SqlException 258), and a diagnostic connect right after was refused (ECONNREFUSED): ") +
        "the host is up but nothing listens on that port (server stopped or restarting, wrong port). " + RefusalFix;

    /// <param name="probe">The diagnostic connect's result, or <see langword="null"/> when none was made.</param>
    /// <param name="openConnections">The connections the pool holds open to the server.</param>
    /// <param name="acceptedRecently">Whether a diagnostic connect to the server was accepted in the last few seconds.</param>
    /// <param name="hostAnswered">Whether the failed connect itself got an answer (a reset or a refusal) from the host.</param>
    /// <param name="overflowedRecently">Whether the server's listen backlog was seen overflowing (corroborated) in the last few seconds.</param>
    private static string AcceptingEvidence(SocketError? probe, int openConnections, bool acceptedRecently, bool overflowedRecently, bool hostAnswered)
    {
        var pool = openConnections > 0
            ? string.Create(CultureInfo.InvariantCulture, $"this pool holds {openConnections} open {(openConnections == 1 ? "connection" : "connections")} to it")
            : null;
        var connect = probe switch
        {
            SocketError.Success or SocketError.ConnectionReset => "a diagnostic connect right after was accepted",
            SocketError.TimedOut when overflowedRecently && !acceptedRecently => string.Create(CultureInfo.InvariantCulture, $"a diagnostic connect right after got no answer within {ClassificationDefaults.DiagnosticConnectTimeoutMilliseconds} ms (its SYN dropped: a full accept queue) while its listen backlog was seen overflowing within the last {ClassificationDefaults.RecentOverflowSeconds} s"),
            SocketError.TimedOut when acceptedRecently => string.Create(CultureInfo.InvariantCulture, $"a diagnostic connect right after got no answer within {ClassificationDefaults.DiagnosticConnectTimeoutMilliseconds} ms (its SYN dropped: a full accept queue) while one within the last {ClassificationDefaults.RecentlyAcceptedSeconds} s was accepted"),
            SocketError.TimedOut when hostAnswered => string.Create(CultureInfo.InvariantCulture, $"a diagnostic connect right after got no answer within {ClassificationDefaults.DiagnosticConnectTimeoutMilliseconds} ms from a host that had just answered (its SYN dropped: a full accept queue)"),
            _ => null,
        };
        if (connect is null && pool is not null && probe == SocketError.TimedOut)
        {
            return pool + string.Create(CultureInfo.InvariantCulture, $", while a diagnostic connect right after got no answer within {ClassificationDefaults.DiagnosticConnectTimeoutMilliseconds} ms either (its SYN dropped too)");
        }

        return (connect, pool) switch
        {
            ({ } c, { } p) => c + " and " + p,
            ({ } c, null) => c,
            (null, { } p) => p,
            _ => "the server answered",
        };
    }

    internal static string RefusedWithoutEndPoint(SafeSqlTcpSnapshot snapshot) =>
        string.Create(CultureInfo.InvariantCulture, $"Without the server's endpoint SafeSql could not probe it (pass the Data Source to the classifier); {snapshot}, so port exhaustion is ruled out and this is treated as a refusal. ") +
        RefusalFix;

    private static string AuthenticationMeaning(int number) => number switch
    {
        18456 => "Login failed for user",
        18452 => "the login is from an untrusted domain",
        18470 => "the account is disabled",
        18486 => "the account is locked out",
        18487 => "the password has expired",
        18488 => "the password must be changed",
        _ => "login rejected",
    };
}

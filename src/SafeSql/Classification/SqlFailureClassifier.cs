using System.ComponentModel;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

using Microsoft.Data.SqlClient;

using SafeSql.ConnectionStrings;

namespace SafeSql;

/// <summary>
/// Tells SQL Server failures apart: pool timeout, ephemeral port exhaustion, refusal, connect timeout, command timeout,
/// broken connection, transient server error, authentication failure, encryption failure, permanent error. Each needs a different response;
/// the result says which, and why.
/// </summary>
/// <remarks>
/// <para>
/// The classifier walks the exception and its inner exceptions (so an exception that wraps the pool's, or a
/// <c>SqlException</c> inside an <see cref="AggregateException"/>, is recognized) and handles the shapes that the supported
/// SqlClient versions (6.1 and newer) produce. Since 6.1.0 the managed network layer reports socket errors in
/// <c>SqlException.Number</c> (dotnet/SqlClient PR #3461, back-ported as #3475): 10049 for ephemeral port exhaustion, 258 with
/// an inner <see cref="Win32Exception"/> for a TCP connect timeout, 10061 for a refusal with <c>MultiSubnetFailover=true</c>.
/// A plain refusal on Linux reads <c>Number</c> 0, "(provider: TCP Provider, error: 35 - An internal exception was caught)"
/// with an inner <see cref="SocketException"/> whose code is <see cref="SocketError.Success"/>: SqlClient reads the socket's
/// state before its pending error, and that read clears the error. There the operating system decides:
/// <see cref="SafeSqlTcpProbe"/> counts the sockets towards the server against the ephemeral port range, and one diagnostic
/// connect to the same endpoint (bounded to 500 ms, an accepted one watched 100 ms more for the listener's reset; cached for 1 s per
/// endpoint) reports ECONNREFUSED, EADDRNOTAVAIL, a listener that resets handshakes (a full accept queue) or a
/// listener that is back. Give the endpoint (<see cref="Classify(Exception, string?)"/>): a <c>SqlException</c> does not
/// carry it. The table of shapes per version is in <c>docs/failure-classification.md</c>.
/// </para>
/// <para>
/// Connect timeout and command timeout share error -2 and a localized message. The classifier decides from what the
/// caller says (<see cref="ClassifyOpenFailure"/>: an open sends no command), else from the exception's stack frames
/// (type names are not localized: the login code <c>SqlInternalConnectionTds</c>/<c>TdsParser.Connect</c> versus
/// <c>SqlCommand</c>/<c>SqlDataReader</c>), and only then from the English message. When nothing decides, it reports a
/// command timeout, the kind that is not retried unless the operation is idempotent.
/// </para>
/// <para>
/// Cost: a recognized <c>SqlException</c> number costs a few hundred nanoseconds and one small allocation; error -2 and
/// transient server errors without a phase read the stack frames (microseconds); only a possible exhaustion reads
/// <c>/proc/net/tcp</c>. Figures per kind are in <c>benchmarks/SafeSql.Benchmarks/ClassifierBenchmark.cs</c>.
/// </para>
/// </remarks>
public static partial class SqlFailureClassifier
{
    private const int MaxDepth = 16;

    /// <summary>Classifies a failure without knowing the server's endpoint.</summary>
    /// <param name="exception">The exception thrown by SqlClient (or one that wraps it).</param>
    /// <returns>The classification. Never <see langword="null"/>; <see cref="SqlFailureKind.Unknown"/> when nothing was recognized.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is <see langword="null"/>.</exception>
    /// <remarks>
    /// Without the endpoint, a connect failure whose socket error SqlClient lost (a refusal on Linux) is reported as a
    /// refusal unless the machine-wide TCP counts reach the ephemeral range. Prefer <see cref="Classify(Exception, string?)"/>.
    /// </remarks>
    public static SqlFailure Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return Classify(exception, SqlClassificationContext.Default);
    }

    /// <summary>Classifies a failure of a connection to <paramref name="dataSource"/>.</summary>
    /// <param name="exception">The exception thrown by SqlClient (or one that wraps it).</param>
    /// <param name="dataSource">
    /// The connection string's <c>Data Source</c> (for example <c>tcp:10.0.0.5,1433</c>), used to count the sockets towards
    /// that server and to make one diagnostic connect to it when the exception alone cannot tell refusal from port
    /// exhaustion. Host names are resolved with a 500 ms bound, and the answer is reused for 1 s. <see langword="null"/> if unknown.
    /// </param>
    /// <returns>The classification. Never <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is <see langword="null"/>.</exception>
    public static SqlFailure Classify(Exception exception, string? dataSource)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return Classify(exception, SqlClassificationContext.Default with { DataSource = dataSource });
    }

    /// <summary>Classifies a failure of a connection to <paramref name="endPoint"/>, for a caller that holds the endpoint rather than a <c>Data Source</c>.</summary>
    /// <param name="exception">The exception thrown by SqlClient, or by a socket connect (or one that wraps it).</param>
    /// <param name="endPoint">The server's <see cref="IPEndPoint"/> or <see cref="DnsEndPoint"/>; <see langword="null"/> if unknown.</param>
    /// <returns>The classification. Never <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is <see langword="null"/>.</exception>
    /// <remarks>A name of its own, not a <c>Classify</c> overload, so that <c>Classify(exception, null)</c> is not ambiguous.</remarks>
    public static SqlFailure ClassifyForEndPoint(Exception exception, EndPoint? endPoint)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return Classify(exception, SqlClassificationContext.Default with { EndPoint = endPoint });
    }

    /// <summary>
    /// Classifies an exception thrown by <c>SqlConnection.Open</c> or <c>OpenAsync</c>: nothing was sent to the server, so a
    /// timeout (-2) is a connect timeout and nothing "may have executed".
    /// </summary>
    /// <param name="exception">The exception thrown while opening.</param>
    /// <param name="dataSource">The connection string's <c>Data Source</c>; <see langword="null"/> if unknown.</param>
    /// <returns>The classification. Never <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is <see langword="null"/>.</exception>
    public static SqlFailure ClassifyOpenFailure(Exception exception, string? dataSource)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return Classify(exception, SqlClassificationContext.Default with { Phase = SqlOperationPhase.Open, DataSource = dataSource });
    }

    /// <summary>
    /// Classifies a failure of a connection to <paramref name="dataSource"/> without blocking a thread: when the exception
    /// alone cannot decide, the DNS lookup and the diagnostic connect run asynchronously, and concurrent failures towards the
    /// same server share one of each (one in flight per endpoint, its result reused for 1 s).
    /// </summary>
    /// <param name="exception">The exception thrown by SqlClient (or one that wraps it).</param>
    /// <param name="dataSource">The connection string's <c>Data Source</c>; <see langword="null"/> if unknown.</param>
    /// <param name="cancellationToken">Stops waiting for the shared evidence (the probe itself continues for the other callers).</param>
    /// <returns>The classification. Never <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled while waiting for the evidence.</exception>
    public static ValueTask<SqlFailure> ClassifyAsync(Exception exception, string? dataSource, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return ClassifyAsync(exception, SqlClassificationContext.Default with { DataSource = dataSource }, cancellationToken);
    }

    /// <summary>Classifies on the caller's thread: a diagnostic connect, when needed, is polled here (at most 500 ms, and 100 ms watching an accepted one).</summary>
    internal static SqlFailure Classify(Exception exception, SqlClassificationContext context)
    {
        var failure = ClassifyWithoutEvidence(exception, context, out var pending);
        if (failure is not null)
        {
            return failure;
        }

        var endPoint = context.ResolveEndPoint();
        var snapshot = context.Evidence.Capture(endPoint);
        SocketError? probe = pending.NeedsDiagnosticConnect && IsConcrete(endPoint) ? context.Evidence.Connect(endPoint!) : null;
        return Corroborate(pending, context, endPoint, snapshot, probe);
    }

    /// <summary>
    /// Classifies without blocking: the exception alone decides synchronously (no allocation of a state machine); the evidence,
    /// when needed, is awaited and shared with every concurrent failure towards the same server.
    /// </summary>
    internal static ValueTask<SqlFailure> ClassifyAsync(Exception exception, SqlClassificationContext context, CancellationToken cancellationToken)
    {
        var failure = ClassifyWithoutEvidence(exception, context, out var pending);
        return failure is not null ? new ValueTask<SqlFailure>(failure) : CorroborateAsync(pending, context, cancellationToken);
    }

    /// <summary>
    /// Classifies from the exception alone. Returns <see langword="null"/> (and <paramref name="pending"/>) when the answer
    /// depends on operating-system evidence: a possible port exhaustion.
    /// </summary>
    private static SqlFailure? ClassifyWithoutEvidence(Exception exception, SqlClassificationContext context, out PendingConnectFailure pending)
    {
        pending = default;
        var current = exception;
        for (var depth = 0; current is not null && depth < MaxDepth; depth++, current = current.InnerException)
        {
            switch (current)
            {
                case SqlException sql:
                    return ClassifySqlException(sql, context, out pending);
                case SqlServerUnavailableException unavailable:
                    // SafeSql's own: the breaker was open, or a probe saw the endpoint refuse while the open waited inside SqlClient.
                    return new SqlFailure(unavailable.Kind, true, false, null, unavailable.Kind == SqlFailureKind.ConnectionRefused ? SocketError.ConnectionRefused : null, unavailable.Message, current);
                case SqlConnectionPoolExhaustedException poolTimeout:
                    // SafeSql's own type: decided by the type, not by the (localized) text of the pool exception inside. It is only
                    // thrown for a pooled connection string, so the non-pooled variant cannot be inside. A pool that was not full
                    // timed out behind a connection being created: transient.
                    return poolTimeout.PoolWasFull
                        ? new SqlFailure(SqlFailureKind.PoolTimeout, false, false, null, null, Explanations.PoolTimeout, current)
                        : new SqlFailure(SqlFailureKind.PoolTimeout, true, false, null, null, Explanations.PoolTimeoutWhileCreating, current);
                case InvalidOperationException or TimeoutException when SqlClientSignatures.IsPoolTimeout(current, out var nonPooled):
                    return new SqlFailure(SqlFailureKind.PoolTimeout, false, false, null, null, nonPooled ? Explanations.NonPooledOpenTimeout : Explanations.PoolTimeout, current);
                case SocketException socket:
                    return ClassifySocketError(socket.SocketErrorCode, null, socket, context, out pending);
                case OperationCanceledException canceled:
                    return new SqlFailure(SqlFailureKind.Unknown, false, true, null, null, Explanations.Canceled, canceled);
            }
        }

        return new SqlFailure(
            SqlFailureKind.Unknown,
            false,
            true,
            null,
            null,
            string.Create(CultureInfo.InvariantCulture, $"{exception.GetType().Name} is not a recognized SQL Server failure; SafeSql does not retry it."),
            exception);
    }

    private static SqlFailure? ClassifySqlException(SqlException sql, SqlClassificationContext context, out PendingConnectFailure pending)
    {
        pending = default;
        var number = sql.Number;
        var errors = sql.Errors;

        // A server-side transient or authentication number anywhere in the error list decides (e.g. 4060 followed by 18456).
        var authenticationNumber = 0;
        for (var i = 0; i < errors.Count; i++)
        {
            var errorNumber = errors[i].Number;
            if (TransientSqlErrors.GetPhase(errorNumber) is { } transientPhase and not TransientErrorPhase.Network)
            {
                var description = TransientSqlErrors.GetDescription(errorNumber)!;
                var mayHaveExecuted = context.Phase != SqlOperationPhase.Open && MayHaveExecuted(transientPhase, sql);
                return new SqlFailure(SqlFailureKind.TransientServerError, true, mayHaveExecuted, errorNumber, null, Explanations.TransientServerError(errorNumber, description, mayHaveExecuted), sql);
            }

            if (authenticationNumber == 0 && IsAuthenticationNumber(errorNumber))
            {
                authenticationNumber = errorNumber;
            }
        }

        if (authenticationNumber != 0)
        {
            return new SqlFailure(SqlFailureKind.AuthenticationFailure, false, false, authenticationNumber, null, Explanations.AuthenticationFailure(authenticationNumber), sql);
        }

        switch (number)
        {
            case EncryptionSignatures.CertificateRejectedNumber:
            case EncryptionSignatures.EncryptionNotSupportedNumber when sql.Class >= 20:
                return ClassifyEncryptionFailure(sql, out pending);
            case -2:
                return ClassifyTimeout(sql, context);
            case 10048:
            case 10049:
            case 10055:
            case 10061:
            case 10060:
            case 10053:
            case 10054:
            case 10050:
            case 10051:
            case 10064:
            case 10065:
            case 11001:
            case 11002:
            case 11004:
                return ClassifySocketError((SocketError)number, number, sql, context, out pending);
            case 258 when sql.InnerException is Win32Exception:
                // SqlClient 6.1+: the TCP connect got no answer within the connect timeout (a dropped SYN), reported as
                // WAIT_TIMEOUT 258 "The connection attempt timed out." (SniTcpHandle.Connect). A listener whose accept queue is
                // full drops SYNs too (Linux' default): the diagnostic connect tells a live server from a silent host.
                pending = new PendingConnectFailure(ConnectSignal.ConnectTimedOut, sql, number, SocketError.TimedOut);
                return null;
            case 64:
            case 121:
            case 233:
            case 997:
                return new SqlFailure(SqlFailureKind.ConnectionBroken, true, false, number, null, Explanations.ConnectionBrokenDuringLogin(number), sql);
            case 53:
                return new SqlFailure(SqlFailureKind.NetworkUnreachable, false, false, number, null, Explanations.NetworkPathNotFound, sql);
        }

        if (number == 0 && sql.Class >= 20 && SqlClientSignatures.GetProviderErrorNumber(sql.Message) == EncryptionSignatures.HandshakeFailedProviderError)
        {
            return ClassifyEncryptionFailure(sql, out pending);
        }

        if (number == 0 && sql.Class >= 20)
        {
            return ClassifyClientNetworkError(sql, context, out pending);
        }

        return new SqlFailure(SqlFailureKind.Permanent, false, true, number, null, Explanations.Permanent(number, sql.Class), sql);
    }

    /// <summary>
    /// The connection could not be encrypted: a rejected certificate (-2146893019), a server without encryption (20), or a TLS
    /// handshake that failed while opening (provider error 31). Nothing was sent, and retrying cannot help, except when the
    /// handshake was cut (reset or closed) by a server that was stopping: that one waits for the diagnostic connect
    /// (<paramref name="pending"/>), and a refused connect makes it <see cref="SqlFailureKind.ConnectionRefused"/>.
    /// </summary>
    private static SqlFailure? ClassifyEncryptionFailure(SqlException sql, out PendingConnectFailure pending)
    {
        pending = default;
        if (sql.Number == EncryptionSignatures.CertificateRejectedNumber)
        {
            var problems = EncryptionSignatures.ReadCertificateProblems(sql, out var otherStatuses);
            return new SqlFailure(SqlFailureKind.EncryptionFailure, false, false, sql.Number, null, Explanations.CertificateRejected(problems, otherStatuses), sql);
        }

        if (sql.Number == EncryptionSignatures.EncryptionNotSupportedNumber)
        {
            return new SqlFailure(SqlFailureKind.EncryptionFailure, false, false, sql.Number, null, Explanations.EncryptionNotSupported, sql);
        }

        var handshake = EncryptionSignatures.ReadHandshakeFailure(sql, out var socketError);
        if (handshake is EncryptionSignatures.HandshakeFailure.Reset or EncryptionSignatures.HandshakeFailure.Closed)
        {
            pending = new PendingConnectFailure(ConnectSignal.HandshakeCut, sql, sql.Number, socketError);
            return null;
        }

        return HandshakeFailed(sql, handshake, socketError, snapshot: null);
    }

    /// <summary>A TLS handshake that failed while opening, with the explanation of how (reset, closed, negotiation).</summary>
    private static SqlFailure HandshakeFailed(SqlException sql, EncryptionSignatures.HandshakeFailure handshake, SocketError? socketError, SafeSqlTcpSnapshot? snapshot)
    {
        var explanation = handshake switch
        {
            EncryptionSignatures.HandshakeFailure.Reset => Explanations.HandshakeReset(socketError),
            EncryptionSignatures.HandshakeFailure.Closed => Explanations.HandshakeClosed,
            _ => Explanations.HandshakeNegotiation,
        };
        return new SqlFailure(SqlFailureKind.EncryptionFailure, false, false, sql.Number, socketError, explanation, sql, snapshot);
    }

    /// <summary>Number 0, class 20: an error SqlClient raised itself (the network layer), not the server.</summary>
    private static SqlFailure? ClassifyClientNetworkError(SqlException sql, SqlClassificationContext context, out PendingConnectFailure pending)
    {
        pending = default;
        var phase = context.Phase == SqlOperationPhase.Open ? SqlOperationPhase.Open : SqlClientSignatures.DetectPhase(sql);

        // Connected, then dropped before the server answered PRELOGIN: "error during the pre-login handshake" with an inner
        // reset when the reset met SqlClient's read, "error during connection initialization process before login" without an
        // inner exception when it met the write (both measured on 6.1.8 and 7.1.1). A full accept queue does this (Linux with
        // tcp_abort_on_overflow=1); the diagnostic connect decides.
        if (phase == SqlOperationPhase.Open && ResetOrNoSocketError(sql) && SqlClientSignatures.IsInPreLogin(sql))
        {
            pending = new PendingConnectFailure(ConnectSignal.ResetWhileOpening, sql, 0, FindSocketError(sql));
            return null;
        }

        // The SocketException is inside (sometimes inside an IOException).
        for (var inner = sql.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                // SqlClient 6.1+ on Linux: a failed connect whose error code SqlClient lost (it reads Socket.Connected, which
                // consumes the pending error, before SO_ERROR). A refusal looks like this; so would any other connect failure.
                if (socket.SocketErrorCode == SocketError.Success && (phase == SqlOperationPhase.Open || sql.ClientConnectionId == Guid.Empty))
                {
                    pending = new PendingConnectFailure(ConnectSignal.Ambiguous, sql, 0, null);
                    return null;
                }

                return ClassifySocketError(socket.SocketErrorCode, 0, sql, context, out pending);
            }

            if (inner is Win32Exception win32 && win32.NativeErrorCode is >= 10000 and < 12000)
            {
                return ClassifySocketError((SocketError)win32.NativeErrorCode, 0, sql, context, out pending);
            }
        }

        var mayHaveExecuted = phase != SqlOperationPhase.Open;
        return new SqlFailure(SqlFailureKind.ConnectionBroken, true, mayHaveExecuted, 0, null, Explanations.ConnectionBroken(null, mayHaveExecuted), sql);
    }

    private static SqlFailure? ClassifySocketError(SocketError error, int? sqlNumber, Exception decisive, SqlClassificationContext context, out PendingConnectFailure pending)
    {
        pending = default;
        switch (error)
        {
            case SocketError.AddressNotAvailable:
            case SocketError.AddressAlreadyInUse:
            case SocketError.NoBufferSpaceAvailable:
                pending = new PendingConnectFailure(error switch
                {
                    SocketError.AddressNotAvailable => ConnectSignal.AddressNotAvailable,
                    SocketError.AddressAlreadyInUse => ConnectSignal.AddressAlreadyInUse,
                    _ => ConnectSignal.NoBufferSpace,
                }, decisive, sqlNumber, error);
                return null;
            case SocketError.ConnectionRefused:
                return new SqlFailure(SqlFailureKind.ConnectionRefused, true, false, sqlNumber, error, Explanations.ConnectionRefused(EndPointText(context)), decisive);
            case SocketError.TimedOut:
                return new SqlFailure(SqlFailureKind.ConnectTimeout, true, false, sqlNumber, error, Explanations.TcpConnectTimeout, decisive);
            case SocketError.HostNotFound:
            case SocketError.NoData:
            case SocketError.TryAgain:
            case SocketError.HostUnreachable:
            case SocketError.NetworkUnreachable:
            case SocketError.HostDown:
            case SocketError.NetworkDown:
                return new SqlFailure(SqlFailureKind.NetworkUnreachable, true, false, sqlNumber, error, Explanations.NetworkUnreachable(error), decisive);
            case SocketError.TooManyOpenSockets:
                return new SqlFailure(SqlFailureKind.Unknown, false, false, sqlNumber, error, Explanations.TooManyOpenSockets, decisive);
            default:
                var phase = context.Phase == SqlOperationPhase.Open ? SqlOperationPhase.Open : SqlClientSignatures.DetectPhase(decisive);
                if (error == SocketError.ConnectionReset && phase == SqlOperationPhase.Open && decisive is SqlException sqlReset && SqlClientSignatures.IsInPreLogin(sqlReset))
                {
                    // Reset before the server said anything: a server that accepted the handshake but found its accept queue full
                    // (Linux with tcp_abort_on_overflow=1), or one that closed while starting or stopping. The probe decides.
                    pending = new PendingConnectFailure(ConnectSignal.ResetWhileOpening, decisive, sqlNumber, error);
                    return null;
                }

                var mayHaveExecuted = phase != SqlOperationPhase.Open;
                return new SqlFailure(SqlFailureKind.ConnectionBroken, true, mayHaveExecuted, sqlNumber, error, Explanations.ConnectionBroken(error, mayHaveExecuted), decisive);
        }
    }

    private static SqlFailure ClassifyTimeout(SqlException sql, SqlClassificationContext context)
    {
        var phase = context.Phase;
        if (phase == SqlOperationPhase.Unknown)
        {
            phase = SqlClientSignatures.DetectPhase(sql);
        }

        var isConnect = phase == SqlOperationPhase.Open
            || (phase == SqlOperationPhase.Unknown && SqlClientSignatures.LooksLikeConnectTimeout(sql.Message));
        return isConnect
            ? new SqlFailure(SqlFailureKind.ConnectTimeout, true, false, -2, null, Explanations.ConnectTimeout, sql)
            : new SqlFailure(SqlFailureKind.CommandTimeout, false, true, -2, null, Explanations.CommandTimeout, sql);
    }

    private static SocketError? FindSocketError(Exception exception)
    {
        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                return socket.SocketErrorCode;
            }
        }

        return null;
    }

    private static bool ResetOrNoSocketError(Exception exception) =>
        FindSocketError(exception) is null or SocketError.ConnectionReset or SocketError.ConnectionAborted;

    private static string EndPointText(SqlClassificationContext context) => context.EndPoint switch
    {
        IPEndPoint ip => ip.ToString(),
        DnsEndPoint dns => string.Create(CultureInfo.InvariantCulture, $"{dns.Host}:{dns.Port}"),
        _ => SqlServerAddress.TryParse(context.DataSource, out var source) && source.IsTcp
            ? string.Create(CultureInfo.InvariantCulture, $"{source.Host}:{source.Port}")
            : "the server",
    };


    /// <summary>
    /// Whether a transient server error may have executed, from <see cref="TransientSqlErrors"/>' table when the number tells
    /// (raised only during login, or only while executing); throttling and failover numbers can come at either moment, so the
    /// stack frames decide.
    /// </summary>
    private static bool MayHaveExecuted(TransientErrorPhase phase, SqlException sql) => phase switch
    {
        TransientErrorPhase.LoginOnly => false,
        TransientErrorPhase.ExecuteOnly => true,
        _ => SqlClientSignatures.DetectPhase(sql) != SqlOperationPhase.Open,
    };

    /// <summary>
    /// Login rejected: 18456 login failed, 18452 untrusted domain, 18470 account disabled, 18486 account locked out,
    /// 18487 password expired, 18488 password must be changed (SQL Server error messages, learn.microsoft.com
    /// "MSSQLSERVER_18456").
    /// </summary>
    private static bool IsAuthenticationNumber(int number) => number is 18456 or 18452 or 18470 or 18486 or 18487 or 18488;
}

using System.Net;
using System.Net.Sockets;

using Microsoft.Data.SqlClient;

namespace SafeSql;

/// <summary>
/// The classifier's evidence stage: when the exception alone cannot decide (a connect failure whose code SqlClient lost, a reset
/// before the PRELOGIN answer, a 258, a cut TLS handshake, a possible port exhaustion), the operating system's figures and a
/// diagnostic connect to the server decide, on the caller's thread or asynchronously and shared with concurrent failures.
/// </summary>
public static partial class SqlFailureClassifier
{
    private static async ValueTask<SqlFailure> CorroborateAsync(PendingConnectFailure pending, SqlClassificationContext context, CancellationToken cancellationToken)
    {
        var endPoint = await context.ResolveEndPointAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
        var snapshot = context.Evidence.Capture(endPoint);
        SocketError? probe = pending.NeedsDiagnosticConnect && IsConcrete(endPoint) ? await context.Evidence.ConnectAsync(endPoint!).WaitAsync(cancellationToken).ConfigureAwait(false) : null;
        return Corroborate(pending, context, endPoint, snapshot, probe);
    }

    /// <summary>Decides a possible exhaustion from the operating system's figures and the diagnostic connect.</summary>
    private static SqlFailure Corroborate(PendingConnectFailure pending, SqlClassificationContext context, IPEndPoint? endPoint, SafeSqlTcpSnapshot snapshot, SocketError? probe)
    {
        var number = pending.SqlNumber;
        var exhausted = snapshot.IndicatesExhaustion;
        var openConnections = context.OpenConnections?.Invoke() ?? 0;

        // A probe that got no answer tells nothing by itself (a silent host, or a full accept queue); a probe to the same
        // endpoint accepted in the last few seconds shows a live server whose queue is full now.
        var acceptedRecently = probe == SocketError.TimedOut && endPoint is not null
            && context.Evidence.AcceptedWithin(endPoint, TimeSpan.FromSeconds(ClassificationDefaults.RecentlyAcceptedSeconds));
        // An overflow of the same endpoint corroborated in the last few seconds (remembered from an unambiguous shape) explains a
        // probe that is accepted and kept (a lost-code failure: the overflow's reset met the connect) or gets no answer.
        var overflowedRecently = probe is SocketError.Success or SocketError.TimedOut && endPoint is not null
            && context.Evidence.OverflowWithin(endPoint, TimeSpan.FromSeconds(ClassificationDefaults.RecentOverflowSeconds));
        var seenAccepting = openConnections > 0 || acceptedRecently || (probe == SocketError.TimedOut && overflowedRecently);
        var target = endPoint is null ? "the server" : SafeSqlTcpSnapshot.Describe(endPoint);
        switch (pending.Signal)
        {
            case ConnectSignal.Ambiguous:
                switch (probe)
                {
                    case SocketError.AddressNotAvailable when exhausted:
                        return Exhaustion(SocketError.AddressNotAvailable, Explanations.AmbiguousPrefix + " " + Explanations.SocketExhaustion(snapshot, probe, fromDiagnosticConnect: true));
                    case SocketError.AddressNotAvailable:
                        return Unreachable(SocketError.AddressNotAvailable, Explanations.AmbiguousPrefix + " " + Explanations.AddressNotAvailableWithoutExhaustion(target, endPoint, snapshot));
                    case SocketError.ConnectionRefused:
                        return Refused(SocketError.ConnectionRefused, Explanations.AmbiguousPrefix + " " + Explanations.RefusedByProbe(target, snapshot));
                    case SocketError.ConnectionReset:
                        // The listener resets connections right after the handshake: a full accept queue (tcp_abort_on_overflow=1),
                        // whose reset met SqlClient's connect.
                        return Overflow(Explanations.AmbiguousPrefix + " " + Explanations.RefusedWhileResetting(target), remember: true);
                    case SocketError.Success when overflowedRecently:
                        return Overflow(Explanations.AmbiguousPrefix + " " + Explanations.RefusedAfterRecentOverflow(target));
                    case SocketError.Success:
                        // On Linux a full accept queue never refuses (it drops the SYN or resets after the handshake), and the
                        // listener took this connect without resetting it: nothing listened when SqlClient connected and a
                        // listener is there now. A server that just finished starting, not an overflow.
                        return Refused(null, Explanations.AmbiguousPrefix + " " + Explanations.RefusedThenListening(target));
                    case SocketError.TimedOut when seenAccepting:
                        return Overflow(Explanations.AmbiguousPrefix + " " + Explanations.RefusedWhileAccepting(target, probe.Value, openConnections, acceptedRecently, overflowedRecently));
                    case SocketError.TimedOut:
                        return new SqlFailure(SqlFailureKind.ConnectTimeout, true, false, number, SocketError.TimedOut, Explanations.AmbiguousPrefix + " " + Explanations.ProbeTimedOut(target), pending.Exception, snapshot);
                    case { } other:
                        return Unreachable(other, Explanations.AmbiguousPrefix + " " + Explanations.NetworkUnreachable(other));
                    default:
                        return exhausted
                            ? Exhaustion(null, Explanations.AmbiguousPrefix + " " + Explanations.SocketExhaustion(snapshot, null))
                            : Refused(null, Explanations.AmbiguousPrefix + " " + Explanations.RefusedWithoutEndPoint(snapshot));
                }

            case ConnectSignal.ResetWhileOpening:
                switch (probe)
                {
                    case SocketError.Success:
                    case SocketError.ConnectionReset:
                    case SocketError.TimedOut:
                        return Overflow(Explanations.ResetByFullBacklog(target, probe, openConnections, acceptedRecently, overflowedRecently), remember: true);
                    case null when openConnections > 0:
                        return Overflow(Explanations.ResetByFullBacklog(target, probe, openConnections, acceptedRecently, overflowedRecently));
                    case SocketError.ConnectionRefused:
                        return Refused(SocketError.ConnectionRefused, Explanations.ResetThenRefused(target));
                    default:
                        return new SqlFailure(SqlFailureKind.ConnectionBroken, true, false, number, pending.SocketError, Explanations.ConnectionBroken(pending.SocketError, mayHaveExecuted: false), pending.Exception, snapshot);
                }

            case ConnectSignal.HandshakeCut:
                // A server that stopped in the middle of the handshake refuses the next connect; one that keeps listening cut
                // the handshake on purpose (or a device on the path did), which every attempt meets.
                return probe == SocketError.ConnectionRefused
                    ? Refused(SocketError.ConnectionRefused, Explanations.HandshakeCutThenRefused(target))
                    : HandshakeFailed((SqlException)pending.Exception, EncryptionSignatures.ReadHandshakeFailure((SqlException)pending.Exception, out _), pending.SocketError, snapshot);

            case ConnectSignal.ConnectTimedOut:
                switch (probe)
                {
                    case SocketError.Success:
                    case SocketError.ConnectionReset:
                    case SocketError.TimedOut when seenAccepting:
                        // Remembered only from evidence of its own, so a host that falls silent after an overflow is not an
                        // overflow for ever.
                        return Overflow(Explanations.SynDroppedByFullBacklog(target, probe, openConnections, acceptedRecently, overflowedRecently), remember: probe != SocketError.TimedOut || acceptedRecently || openConnections > 0);
                    case null when openConnections > 0:
                        return Overflow(Explanations.SynDroppedByFullBacklog(target, probe, openConnections, acceptedRecently, overflowedRecently));
                    case SocketError.ConnectionRefused:
                        return Refused(SocketError.ConnectionRefused, Explanations.TimedOutThenRefused(target));
                    default:
                        return new SqlFailure(SqlFailureKind.ConnectTimeout, true, false, number, SocketError.TimedOut, Explanations.TcpConnectTimeout, pending.Exception, snapshot);
                }

            case ConnectSignal.AddressNotAvailable:
                if (exhausted || !snapshot.HasCounts)
                {
                    return Exhaustion(SocketError.AddressNotAvailable, Explanations.SocketExhaustion(snapshot, SocketError.AddressNotAvailable));
                }

                return Unreachable(SocketError.AddressNotAvailable, Explanations.AddressNotAvailableWithoutExhaustion(target, endPoint, snapshot));

            default:
                // WSAEADDRINUSE / WSAENOBUFS on connect (Windows): the documented exhaustion signals.
                return Exhaustion(pending.SocketError, Explanations.SocketExhaustion(snapshot, pending.SocketError));
        }

        SqlFailure Exhaustion(SocketError? socketError, string explanation) =>
            new(SqlFailureKind.SocketExhaustion, true, false, number, socketError, explanation, pending.Exception, snapshot);

        SqlFailure Overflow(string explanation, bool remember = false)
        {
            // An overflow corroborated from an unambiguous shape explains, for a few seconds, a refusal-shaped failure towards the
            // same endpoint (a reset that met SqlClient's connect, whose code SqlClient lost).
            if (remember && endPoint is not null)
            {
                context.Evidence.RememberOverflow(endPoint);
            }

            return new(SqlFailureKind.ListenBacklogOverflow, true, false, number, pending.SocketError, explanation, pending.Exception, snapshot);
        }

        SqlFailure Refused(SocketError? socketError, string explanation) =>
            new(SqlFailureKind.ConnectionRefused, true, false, number, socketError, explanation, pending.Exception, snapshot);

        SqlFailure Unreachable(SocketError socketError, string explanation) =>
            new(SqlFailureKind.NetworkUnreachable, socketError != SocketError.AddressNotAvailable, false, number, socketError, explanation, pending.Exception, snapshot);
    }

    private static bool IsConcrete(IPEndPoint? endPoint) =>
        endPoint is not null && endPoint.Port != 0 && !endPoint.Address.Equals(IPAddress.Any) && !endPoint.Address.Equals(IPAddress.IPv6Any);

    private enum ConnectSignal
    {
        /// <summary>The connect failed and SqlClient lost the socket error (a refusal on Linux, among others).</summary>
        Ambiguous,

        /// <summary>The connection was reset before the server answered the pre-login (a full accept queue with tcp_abort_on_overflow).</summary>
        ResetWhileOpening,

        /// <summary>The TCP connect got no answer (258): a dropped SYN, from a silent host or from a full accept queue.</summary>
        ConnectTimedOut,

        /// <summary>The TLS handshake was reset or closed while opening: a server that stopped, or one (or a device) that refuses TLS.</summary>
        HandshakeCut,

        AddressNotAvailable,
        AddressAlreadyInUse,
        NoBufferSpace,
    }

    private readonly record struct PendingConnectFailure(ConnectSignal Signal, Exception Exception, int? SqlNumber, SocketError? SocketError)
    {
        /// <summary>Whether a diagnostic connect decides (else the socket counts alone do).</summary>
        public bool NeedsDiagnosticConnect => Signal is ConnectSignal.Ambiguous or ConnectSignal.ResetWhileOpening or ConnectSignal.ConnectTimedOut or ConnectSignal.HandshakeCut;
    }
}

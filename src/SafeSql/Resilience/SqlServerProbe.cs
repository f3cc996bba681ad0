using System.Net.Sockets;

using SafeSql.Shared.Tds;

namespace SafeSql;

/// <summary>What one probe of the server found.</summary>
internal enum SqlServerProbeResult
{
    /// <summary>The endpoint could not be worked out (a named instance, a pipe, a name that does not resolve): nothing was tried.</summary>
    Unknown,

    /// <summary>The TCP connect was refused: nothing listens on the port.</summary>
    Refused,

    /// <summary>No answer in time (the connect or the PRELOGIN), or the network said the host cannot be reached.</summary>
    NoAnswer,

    /// <summary>The server accepted the connect and answered the PRELOGIN: it is up far enough to take logins.</summary>
    Answered,
}

/// <summary>
/// Probes one SQL Server endpoint the way a client starts a session: a TCP connect, then a PRELOGIN packet (MS-TDS 2.2.6.5) whose
/// answer (a tabular-result packet, type 0x04) shows a server that takes logins, not only a port that accepts (a server still
/// starting up accepts TCP before it answers). One probe runs at a time; callers asking while one runs share its result.
/// </summary>
/// <remarks>
/// The probe closes its socket after the answer, before any login: SQL Server may log it as a connection closed during the
/// pre-login handshake. It runs only while SafeSql suspects an outage (a slow open, an open circuit breaker).
/// </remarks>
internal sealed class SqlServerProbe
{
    // A PRELOGIN packet with VERSION (6 bytes, zero: SQL Server reads it only for logging) and ENCRYPTION = ENCRYPT_NOT_SUP;
    // the answer comes whatever the server's encryption setting, and the probe never goes further.
    private static readonly byte[] s_preLogin = PreLoginPayload.BuildPacket(
        new(PreLoginPayload.OptionVersion, new byte[6]),
        new(PreLoginPayload.OptionEncryption, [PreLoginPayload.EncryptNotSupported]));

    private readonly SqlEndPointResolver _resolver;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _timeout;
    private readonly Lock _gate = new();
    private Task<SqlServerProbeResult>? _current;
    private long _currentStarted;
    private int _started;

    /// <param name="dataSource">The connection string's <c>Data Source</c>.</param>
    /// <param name="timeProvider">The clock of the time bound.</param>
    /// <param name="timeout">The bound of the connect and of the PRELOGIN answer, each.</param>
    internal SqlServerProbe(string? dataSource, TimeProvider timeProvider, TimeSpan timeout)
    {
        _resolver = new SqlEndPointResolver(dataSource);
        _timeProvider = timeProvider;
        _timeout = timeout;
    }

    /// <summary>Gets how many probes were started (tests assert one at a time with it).</summary>
    internal int Started => Volatile.Read(ref _started);

    /// <summary>
    /// The result of a probe that started at or after <paramref name="notStartedBefore"/> (a <see cref="TimeProvider"/>
    /// timestamp): the one running or last completed if it is recent enough, else a new one once the running one ends.
    /// </summary>
    internal async Task<SqlServerProbeResult> ProbeAsync(long notStartedBefore)
    {
        while (true)
        {
            Task<SqlServerProbeResult> probe;
            bool recentEnough;
            lock (_gate)
            {
                if (_current is null || (_current.IsCompleted && _currentStarted < notStartedBefore))
                {
                    _currentStarted = _timeProvider.GetTimestamp();
                    _started++;
                    _current = RunAsync();
                    probe = _current;
                    recentEnough = true;
                }
                else
                {
                    probe = _current;
                    recentEnough = _currentStarted >= notStartedBefore;
                }
            }

            var result = await probe.ConfigureAwait(false);
            if (recentEnough)
            {
                return result;
            }
        }
    }

    private async Task<SqlServerProbeResult> RunAsync()
    {
        await Task.Yield(); // started under the gate: leave it before any work
        var endPoint = await _resolver.ResolveAsync().ConfigureAwait(false);
        if (endPoint is null)
        {
            return SqlServerProbeResult.Unknown;
        }

        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(_timeout, _timeProvider);
        try
        {
            await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return SqlServerProbeResult.Refused;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return SqlServerProbeResult.NoAnswer;
        }

        timeout.CancelAfter(_timeout);
        try
        {
            await socket.SendAsync(s_preLogin, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            var header = new byte[1];
            var read = await socket.ReceiveAsync(header, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            return read == 1 && header[0] == TdsConstants.PacketReply ? SqlServerProbeResult.Answered : SqlServerProbeResult.NoAnswer;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return SqlServerProbeResult.NoAnswer;
        }
    }
}

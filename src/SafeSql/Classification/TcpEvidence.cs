using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace SafeSql;

/// <summary>Where the classifier gets operating-system evidence from (a seam so the decision table can be unit tested).</summary>
internal interface ITcpEvidenceSource
{
    /// <summary>The socket counts towards <paramref name="endPoint"/> (file reads of <c>/proc</c>: microseconds, milliseconds for the walk).</summary>
    SafeSqlTcpSnapshot Capture(IPEndPoint? endPoint);

    /// <summary>A diagnostic connect for a synchronous caller: polled on the caller's own thread, no thread-pool work.</summary>
    SocketError Connect(IPEndPoint endPoint);

    /// <summary>A diagnostic connect for an asynchronous caller: one in flight per endpoint, shared by every concurrent failure.</summary>
    Task<SocketError> ConnectAsync(IPEndPoint endPoint);

    /// <summary>Whether a diagnostic connect to <paramref name="endPoint"/> was accepted within the last <paramref name="window"/>.</summary>
    bool AcceptedWithin(IPEndPoint endPoint, TimeSpan window);

    /// <summary>Records that <paramref name="endPoint"/>'s listen backlog was seen overflowing (an unambiguous shape, corroborated).</summary>
    void RememberOverflow(IPEndPoint endPoint)
    {
    }

    /// <summary>Whether <paramref name="endPoint"/>'s listen backlog was seen overflowing within the last <paramref name="window"/>.</summary>
    bool OverflowWithin(IPEndPoint endPoint, TimeSpan window) => false;
}

/// <summary>
/// The real evidence: <see cref="SafeSqlTcpProbe"/> and one diagnostic connect, each reused per endpoint for a short time so a
/// burst of failures probes the operating system once, not once per failure. Asynchronous callers share one diagnostic connect
/// in flight per endpoint (<see cref="SingleFlight{TKey, TResult}"/>) and block no thread while it runs.
/// </summary>
internal sealed class OsTcpEvidenceSource : ITcpEvidenceSource
{
    /// <summary>How long a probe result is reused: 1 second.</summary>
    internal static readonly TimeSpan DefaultCacheDuration = TimeSpan.FromSeconds(1);

    /// <summary>The longest a diagnostic connect may take: 500 ms (a refused or exhausted connect fails at once).</summary>
    internal static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromMilliseconds(ClassificationDefaults.DiagnosticConnectTimeoutMilliseconds);

    private static readonly IPEndPoint s_totalsKey = new(IPAddress.None, 0);

    private const int MaxAcceptedEndPoints = 64;

    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeSpan _resetWatch;
    private readonly ConcurrentDictionary<IPEndPoint, long> _lastAccepted = new();
    private readonly ConcurrentDictionary<IPEndPoint, long> _lastOverflow = new();
    private readonly SingleFlight<IPEndPoint, SafeSqlTcpSnapshot> _snapshots;
    private readonly SingleFlight<IPEndPoint, SocketError> _connects;

    /// <summary>How long an accepted diagnostic connect is watched for the listener's reset: 100 ms.</summary>
    internal static readonly TimeSpan DefaultResetWatch = TimeSpan.FromMilliseconds(ClassificationDefaults.ResetWatchMilliseconds);

    internal OsTcpEvidenceSource(TimeProvider timeProvider, TimeSpan cacheDuration, TimeSpan connectTimeout)
        : this(timeProvider, cacheDuration, connectTimeout, DefaultResetWatch)
    {
    }

    internal OsTcpEvidenceSource(TimeProvider timeProvider, TimeSpan cacheDuration, TimeSpan connectTimeout, TimeSpan resetWatch)
    {
        _timeProvider = timeProvider;
        _connectTimeout = connectTimeout;
        _resetWatch = resetWatch;
        _snapshots = new SingleFlight<IPEndPoint, SafeSqlTcpSnapshot>(timeProvider, cacheDuration);
        _connects = new SingleFlight<IPEndPoint, SocketError>(timeProvider, cacheDuration);
    }

    internal static OsTcpEvidenceSource Shared { get; } = new(TimeProvider.System, DefaultCacheDuration, DefaultConnectTimeout);

    /// <summary>Gets how many diagnostic connects were made asynchronously (tests assert one per storm).</summary>
    internal int AsyncConnectsStarted => _connects.Started;

    public SafeSqlTcpSnapshot Capture(IPEndPoint? endPoint)
    {
        var key = endPoint ?? s_totalsKey;
        if (_snapshots.TryGetCompleted(key, out var cached))
        {
            return cached;
        }

        var snapshot = SafeSqlTcpProbe.CaptureForClassification(endPoint);
        _snapshots.Store(key, snapshot);
        return snapshot;
    }

    public SocketError Connect(IPEndPoint endPoint)
    {
        if (_connects.TryGetCompleted(endPoint, out var cached))
        {
            return cached;
        }

        var result = RememberAccepted(endPoint, SafeSqlTcpProbe.DiagnosticConnect(endPoint, _connectTimeout, _resetWatch));
        _connects.Store(endPoint, result);
        return result;
    }

    public Task<SocketError> ConnectAsync(IPEndPoint endPoint) =>
        _connects.GetOrStart(endPoint, this, static async (target, self) =>
            self.RememberAccepted(target, await SafeSqlTcpProbe.DiagnosticConnectAsync(target, self._connectTimeout, self._resetWatch).ConfigureAwait(false)));

    public bool AcceptedWithin(IPEndPoint endPoint, TimeSpan window) => Within(_lastAccepted, endPoint, window);

    public void RememberOverflow(IPEndPoint endPoint) => Remember(_lastOverflow, endPoint);

    public bool OverflowWithin(IPEndPoint endPoint, TimeSpan window) => Within(_lastOverflow, endPoint, window);

    /// <summary>Remembers when a diagnostic connect was accepted (a reset right after the handshake counts: a listener took it).</summary>
    private SocketError RememberAccepted(IPEndPoint endPoint, SocketError result)
    {
        if (result is SocketError.Success or SocketError.ConnectionReset)
        {
            Remember(_lastAccepted, endPoint);
        }

        return result;
    }

    private void Remember(ConcurrentDictionary<IPEndPoint, long> moments, IPEndPoint endPoint)
    {
        if (moments.Count >= MaxAcceptedEndPoints)
        {
            moments.Clear();
        }

        moments[endPoint] = _timeProvider.GetTimestamp();
    }

    private bool Within(ConcurrentDictionary<IPEndPoint, long> moments, IPEndPoint endPoint, TimeSpan window) =>
        moments.TryGetValue(endPoint, out var timestamp) && _timeProvider.GetElapsedTime(timestamp) < window;
}

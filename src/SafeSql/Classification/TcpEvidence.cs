using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

using SafeSql.Diagnostics;

namespace SafeSql.Classification;

/// <summary>Where the classifier gets operating-system evidence from (a seam so the decision table can be unit tested).</summary>
internal interface ITcpEvidenceSource
{
    OsTcpSnapshot Capture(IPEndPoint? endPoint);

    SocketError Connect(IPEndPoint endPoint);
}

/// <summary>
/// The real evidence: <see cref="OsTcpProbe"/> and one diagnostic connect, each cached per endpoint for a short time so a
/// burst of failures probes the operating system once, not once per failure.
/// </summary>
internal sealed class OsTcpEvidenceSource : ITcpEvidenceSource
{
    /// <summary>How long a probe result is reused: 1 second.</summary>
    internal static readonly TimeSpan DefaultCacheDuration = TimeSpan.FromSeconds(1);

    /// <summary>The longest a diagnostic connect may take: 500 ms (a refused or exhausted connect fails at once).</summary>
    internal static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromMilliseconds(ClassificationDefaults.DiagnosticConnectTimeoutMilliseconds);

    private const int MaxCachedEndPoints = 64;
    private static readonly IPEndPoint s_totalsKey = new(IPAddress.None, 0);

    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _cacheDuration;
    private readonly TimeSpan _connectTimeout;
    private readonly ConcurrentDictionary<IPEndPoint, (long Timestamp, OsTcpSnapshot Snapshot)> _snapshots = new();
    private readonly ConcurrentDictionary<IPEndPoint, (long Timestamp, SocketError Result)> _connects = new();

    internal OsTcpEvidenceSource(TimeProvider timeProvider, TimeSpan cacheDuration, TimeSpan connectTimeout)
    {
        _timeProvider = timeProvider;
        _cacheDuration = cacheDuration;
        _connectTimeout = connectTimeout;
    }

    internal static OsTcpEvidenceSource Shared { get; } = new(TimeProvider.System, DefaultCacheDuration, DefaultConnectTimeout);

    public OsTcpSnapshot Capture(IPEndPoint? endPoint)
    {
        var key = endPoint ?? s_totalsKey;
        if (_snapshots.TryGetValue(key, out var cached) && IsFresh(cached.Timestamp))
        {
            return cached.Snapshot;
        }

        var snapshot = OsTcpProbe.CaptureForClassification(endPoint);
        Store(_snapshots, key, (_timeProvider.GetTimestamp(), snapshot));
        return snapshot;
    }

    public SocketError Connect(IPEndPoint endPoint)
    {
        if (_connects.TryGetValue(endPoint, out var cached) && IsFresh(cached.Timestamp))
        {
            return cached.Result;
        }

        var result = OsTcpProbe.DiagnosticConnect(endPoint, _connectTimeout);
        Store(_connects, endPoint, (_timeProvider.GetTimestamp(), result));
        return result;
    }

    private static void Store<T>(ConcurrentDictionary<IPEndPoint, T> cache, IPEndPoint key, T value)
    {
        if (cache.Count >= MaxCachedEndPoints)
        {
            cache.Clear();
        }

        cache[key] = value;
    }

    private bool IsFresh(long timestamp) => _timeProvider.GetElapsedTime(timestamp) < _cacheDuration;
}

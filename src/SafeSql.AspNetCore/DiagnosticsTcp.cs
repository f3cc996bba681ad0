using System.Collections.Concurrent;
using System.Globalization;
using System.Net;

namespace SafeSql.AspNetCore;

/// <summary>
/// The OS TCP picture towards each pool's server (<see cref="SafeSqlTcpProbe"/>), captured at most once per
/// <see cref="CacheDuration"/> per pool: reading <c>/proc/net/tcp</c> walks the kernel's connection table.
/// </summary>
internal sealed class DiagnosticsTcp
{
    /// <summary>How long a capture is reused.</summary>
    internal static readonly TimeSpan CacheDuration = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _timeProvider;
    private readonly ConcurrentDictionary<string, TcpDocument> _captures = new(StringComparer.Ordinal);

    public DiagnosticsTcp(SafeSqlDiagnosticsCollector collector) => _timeProvider = collector.TimeProvider;

    internal TcpDocument Get(string poolName, string dataSource)
    {
        var now = _timeProvider.GetUtcNow();
        if (_captures.TryGetValue(poolName, out var cached) && now - cached.CapturedAt < CacheDuration)
        {
            return cached;
        }

        var endPoint = ServerEndPoint(dataSource);
        var snapshot = SafeSqlTcpProbe.Capture(endPoint);
        var document = new TcpDocument(
            snapshot.Source,
            endPoint?.ToString(),
            snapshot.PortsInUse,
            snapshot.EphemeralPortCount,
            snapshot.ConnectionsTowardsEndPoint,
            snapshot.TimeWaitTotal,
            snapshot.TimeWaitTowardsEndPoint,
            snapshot.IndicatesExhaustion,
            now);
        _captures[poolName] = document;
        return document;
    }

    /// <summary>
    /// The server's endpoint when <c>Data Source</c> names an IP address or the local machine (no DNS lookup per request);
    /// port 0 (every port of the address) for a named instance, whose port SQL Browser decides. <see langword="null"/> (totals
    /// only) for a host name.
    /// </summary>
    internal static IPEndPoint? ServerEndPoint(string dataSource)
    {
        var value = dataSource.Trim();
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && colon < 4 && value[..colon] is "tcp" or "TCP")
        {
            value = value[(colon + 1)..];
        }

        var port = 1433;
        var comma = value.LastIndexOf(',');
        if (comma >= 0)
        {
            if (!int.TryParse(value[(comma + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port))
            {
                return null;
            }

            value = value[..comma];
        }

        var backslash = value.IndexOf('\\', StringComparison.Ordinal);
        if (backslash >= 0)
        {
            value = value[..backslash];
            port = comma >= 0 ? port : 0;
        }

        if (value is "." or "(local)" || value.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        return IPAddress.TryParse(value, out var address) ? new IPEndPoint(address, port) : null;
    }
}

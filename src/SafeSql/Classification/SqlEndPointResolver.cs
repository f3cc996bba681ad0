using System.Collections.Concurrent;
using System.Net;

using SafeSql.ConnectionStrings;

namespace SafeSql.Classification;

/// <summary>
/// Points the operating-system evidence at the server of one <c>Data Source</c>, off the hot path: the data source is parsed
/// once, an IP literal (or <c>localhost</c>) never touches DNS, and a host name is resolved (bounded to
/// <see cref="ClassificationDefaults.DiagnosticConnectTimeoutMilliseconds"/>) at most once per cache period (1 s, like the evidence),
/// so a burst of failed opens does not make one blocking DNS lookup each.
/// </summary>
internal sealed class SqlEndPointResolver
{
    /// <summary>How long a DNS answer (or its failure) is reused: 1 second, as the OS evidence.</summary>
    internal static readonly TimeSpan DefaultCacheDuration = OsTcpEvidenceSource.DefaultCacheDuration;

    private const int MaxSharedResolvers = 64;
    private static readonly TimeSpan s_resolveTimeout = TimeSpan.FromMilliseconds(ClassificationDefaults.DiagnosticConnectTimeoutMilliseconds);
    private static readonly ConcurrentDictionary<string, SqlEndPointResolver> s_shared = new(StringComparer.OrdinalIgnoreCase);

    private readonly SqlDataSource _source;
    private readonly bool _isTcp;
    private readonly IPEndPoint? _withoutDns;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _cacheDuration;
    private readonly Func<string, IPAddress[]?> _lookUp;
    private CachedEndPoint? _cached;

    internal SqlEndPointResolver(string? dataSource)
        : this(dataSource, TimeProvider.System, DefaultCacheDuration, static host => SqlDataSource.LookUp(host, s_resolveTimeout))
    {
    }

    /// <summary>Creates a resolver with its clock and DNS lookup (tests count the lookups).</summary>
    internal SqlEndPointResolver(string? dataSource, TimeProvider timeProvider, TimeSpan cacheDuration, Func<string, IPAddress[]?> lookUp)
    {
        _isTcp = SqlDataSource.TryParse(dataSource, out _source) && _source.IsTcp;
        if (_isTcp && _source.TryGetEndPointWithoutDns(out var endPoint))
        {
            _withoutDns = endPoint;
        }

        _timeProvider = timeProvider;
        _cacheDuration = cacheDuration;
        _lookUp = lookUp;
    }

    /// <summary>The resolver of <paramref name="dataSource"/> shared by every classification without a policy of its own.</summary>
    internal static SqlEndPointResolver Shared(string dataSource)
    {
        if (s_shared.TryGetValue(dataSource, out var resolver))
        {
            return resolver;
        }

        if (s_shared.Count >= MaxSharedResolvers)
        {
            s_shared.Clear();
        }

        return s_shared.GetOrAdd(dataSource, static d => new SqlEndPointResolver(d));
    }

    /// <summary>
    /// The server's endpoint: <see langword="null"/> for a data source that is not TCP (or cannot be parsed); the endpoint of an
    /// IP literal at once; otherwise the cached DNS answer, looked up again once it is older than the cache period.
    /// <see cref="IPAddress.Any"/> as the address when the lookup failed ("any address on that port").
    /// </summary>
    internal IPEndPoint? Resolve()
    {
        if (!_isTcp)
        {
            return null;
        }

        if (_withoutDns is not null)
        {
            return _withoutDns;
        }

        var cached = Volatile.Read(ref _cached);
        if (cached is not null && _timeProvider.GetElapsedTime(cached.Timestamp) < _cacheDuration)
        {
            return cached.EndPoint;
        }

        var endPoint = _source.FromAddresses(_lookUp(_source.Host));
        Volatile.Write(ref _cached, new CachedEndPoint(_timeProvider.GetTimestamp(), endPoint));
        return endPoint;
    }

    private sealed record CachedEndPoint(long Timestamp, IPEndPoint EndPoint);
}

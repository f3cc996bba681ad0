using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

using SafeSql.ConnectionStrings;

namespace SafeSql;

/// <summary>
/// Points the operating-system evidence at the server of one <c>Data Source</c>, off the hot path: the data source is parsed
/// once, an IP literal (or <c>localhost</c>) never touches DNS, and a host name is resolved at most once per cache period
/// (1 s, like the evidence), so a burst of failed opens does not make one DNS lookup each. Asynchronous callers share one
/// lookup in flight (bounded to <see cref="ClassificationDefaults.DiagnosticConnectTimeoutMilliseconds"/>) and block no thread;
/// synchronous callers look up synchronously, as SqlClient's synchronous open itself does, unless a fresh answer exists.
/// </summary>
internal sealed class SqlEndPointResolver
{
    /// <summary>How long a DNS answer (or its failure) is reused: 1 second, as the OS evidence.</summary>
    internal static readonly TimeSpan DefaultCacheDuration = OsTcpEvidenceSource.DefaultCacheDuration;

    private const int MaxSharedResolvers = 64;
    private static readonly TimeSpan s_resolveTimeout = TimeSpan.FromMilliseconds(ClassificationDefaults.DiagnosticConnectTimeoutMilliseconds);
    private static readonly ConcurrentDictionary<string, SqlEndPointResolver> s_shared = new(StringComparer.OrdinalIgnoreCase);

    private readonly SqlServerAddress _source;
    private readonly bool _isTcp;
    private readonly IPEndPoint? _withoutDns;
    private readonly Func<string, IPAddress[]?> _lookUp;
    private readonly Func<string, Task<IPAddress[]?>> _lookUpAsync;
    private readonly SingleFlight<string, IPEndPoint> _answers;

    internal SqlEndPointResolver(string? dataSource)
        : this(dataSource, TimeProvider.System, DefaultCacheDuration, LookUp, static host => LookUpAsync(host, s_resolveTimeout))
    {
    }

    /// <summary>Creates a resolver with its clock and DNS lookups (tests count the lookups).</summary>
    internal SqlEndPointResolver(string? dataSource, TimeProvider timeProvider, TimeSpan cacheDuration, Func<string, IPAddress[]?> lookUp, Func<string, Task<IPAddress[]?>>? lookUpAsync = null)
    {
        _isTcp = SqlServerAddress.TryParse(dataSource, out _source) && _source.IsTcp;
        if (_isTcp && _source.TryGetEndPointWithoutDns(out var endPoint))
        {
            _withoutDns = endPoint;
        }

        _lookUp = lookUp;
        _lookUpAsync = lookUpAsync ?? (host => Task.FromResult(lookUp(host)));
        _answers = new SingleFlight<string, IPEndPoint>(timeProvider, cacheDuration, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Gets how many asynchronous lookups were started (tests assert one per storm).</summary>
    internal int AsyncLookUpsStarted => _answers.Started;

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
    /// The server's endpoint for a synchronous caller: <see langword="null"/> for a data source that is not TCP (or cannot be
    /// parsed); the endpoint of an IP literal at once; otherwise a fresh answer, else a synchronous lookup.
    /// <see cref="IPAddress.Any"/> as the address when the lookup failed ("any address on that port").
    /// </summary>
    internal IPEndPoint? Resolve()
    {
        if (!_isTcp || _withoutDns is not null)
        {
            return _withoutDns;
        }

        if (_answers.TryGetCompleted(_source.Host, out var cached))
        {
            return cached;
        }

        var endPoint = _source.FromAddresses(_lookUp(_source.Host));
        _answers.Store(_source.Host, endPoint);
        return endPoint;
    }

    /// <summary>The asynchronous <see cref="Resolve"/>: one lookup in flight, shared by every concurrent caller.</summary>
    internal ValueTask<IPEndPoint?> ResolveAsync()
    {
        if (!_isTcp || _withoutDns is not null)
        {
            return new ValueTask<IPEndPoint?>(_withoutDns);
        }

        if (_answers.TryGetCompleted(_source.Host, out var cached))
        {
            return new ValueTask<IPEndPoint?>(cached);
        }

        return AwaitAnswer(_answers.GetOrStart(_source.Host, this, static async (host, self) => self._source.FromAddresses(await self._lookUpAsync(host).ConfigureAwait(false))));

        static async ValueTask<IPEndPoint?> AwaitAnswer(Task<IPEndPoint> answer) => await answer.ConfigureAwait(false);
    }

    /// <summary>
    /// A synchronous DNS lookup (<see cref="Dns.GetHostAddresses(string)"/>, bounded by the resolver's own timeout, as SqlClient's
    /// synchronous open does); <see langword="null"/> when it fails. Only for callers that are synchronous themselves.
    /// </summary>
    internal static IPAddress[]? LookUp(string host)
    {
        try
        {
            return Dns.GetHostAddresses(host);
        }
        catch (Exception ex) when (ex is SocketException or ArgumentException)
        {
            // Count every address on the port instead.
            return null;
        }
    }

    /// <summary>An asynchronous DNS lookup bounded by <paramref name="timeout"/>; <see langword="null"/> when it fails or times out.</summary>
    internal static async Task<IPAddress[]?> LookUpAsync(string host, TimeSpan timeout)
    {
        try
        {
            using var cancellation = new CancellationTokenSource(timeout);
            return await Dns.GetHostAddressesAsync(host, cancellation.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ArgumentException)
        {
            // Count every address on the port instead.
            return null;
        }
    }
}

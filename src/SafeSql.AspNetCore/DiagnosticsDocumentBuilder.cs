using System.Reflection;
using System.Text.Json;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Options;

namespace SafeSql.AspNetCore;

/// <summary>
/// Builds one <see cref="DiagnosticsDocument"/> per request from the public API of the core: the pool snapshot (taken now,
/// per request, never per lease), the kept leak reports, the history buckets, the cached health and TCP pictures. The work is
/// bounded by the number of pools: at most 5 holder call sites, <see cref="SafeSqlDiagnosticsOptions.RecentLeakCapacity"/>
/// leaks and <see cref="PoolHistory.BucketCount"/> buckets each.
/// </summary>
internal sealed class DiagnosticsDocumentBuilder
{
    /// <summary>The version of the JSON schema (docs/diagnostics.md).</summary>
    internal const int SchemaVersion = 1;

    /// <summary>The name the core's reports and logs give the default (unnamed) instance.</summary>
    internal const string DefaultPoolDisplayName = "(default)";

    private static readonly string s_safeSqlVersion = VersionOf(typeof(SafeSqlDataSource).Assembly);
    private static readonly string s_sqlClientVersion = VersionOf(typeof(SqlConnection).Assembly);

    private readonly SafeSqlDiagnosticsCollector _collector;
    private readonly DiagnosticsHealth _health;
    private readonly DiagnosticsTcp _tcp;
    private readonly IOptionsMonitor<SafeSqlOptions> _safeSqlOptions;

    public DiagnosticsDocumentBuilder(SafeSqlDiagnosticsCollector collector, DiagnosticsHealth health, DiagnosticsTcp tcp, IOptionsMonitor<SafeSqlOptions> safeSqlOptions)
    {
        _collector = collector;
        _health = health;
        _tcp = tcp;
        _safeSqlOptions = safeSqlOptions;
    }

    internal async Task<DiagnosticsDocument> BuildAsync(CancellationToken cancellationToken)
    {
        var health = await _health.GetAsync(cancellationToken).ConfigureAwait(false);
        var pending = _collector.Meters.ReadPendingRequests();
        var now = _collector.TimeProvider.GetUtcNow();
        var window = _collector.Options.HistoryWindow;
        var pools = new List<PoolDocument>();
        foreach (var dataSource in _collector.DataSources.All)
        {
            pools.Add(BuildPool(dataSource, now, health, pending));
        }

        return new DiagnosticsDocument(
            SchemaVersion,
            now,
            s_safeSqlVersion,
            s_sqlClientVersion,
            window.TotalSeconds,
            window.TotalSeconds / PoolHistory.BucketCount,
            pools);
    }

    private PoolDocument BuildPool(SafeSqlDataSource dataSource, DateTimeOffset now, IReadOnlyDictionary<string, HealthDocument> health, IReadOnlyDictionary<string, long>? pending)
    {
        var displayName = string.IsNullOrEmpty(dataSource.Name) ? DefaultPoolDisplayName : dataSource.Name;

        // SafeSqlDataSource.ConnectionString has no password (SqlConnectionStringBuilder cleared it); only the server and the
        // database are taken from it, so nothing else of the string (keywords, user) is ever shown either.
        var connection = new SqlConnectionStringBuilder(dataSource.ConnectionString);
        var server = connection.DataSource;
        var database = string.IsNullOrEmpty(connection.InitialCatalog) ? null : connection.InitialCatalog;

        var snapshot = dataSource.GetPoolSnapshot();
        var history = _collector.HistoryOf(dataSource.MetricPoolName);
        history.RecordLeased(now, snapshot.LeasedCount);
        var window = history.Read(now);
        var threshold = _safeSqlOptions.Get(dataSource.Name).Leaks?.LeakDetectionThreshold;

        return new PoolDocument(
            displayName,
            server,
            database,
            snapshot.Pooling,
            snapshot.MaxPoolSize,
            snapshot.LeasedCount,
            pending is null ? null : pending.GetValueOrDefault(dataSource.MetricPoolName),
            snapshot.Pooling && snapshot.LeasedCount >= snapshot.MaxPoolSize,
            threshold?.TotalSeconds,
            [.. snapshot.TopCallSitesByAge.Select(ToHolder)],
            snapshot.OldestLease is { } oldest ? new OldestLeaseDocument(CallSiteText(oldest.CallSite), oldest.OpenedAt, Seconds(oldest.HeldFor), oldest.StackTrace) : null,
            snapshot.LeaksDetected,
            snapshot.LastLeakDetectedAt,
            [.. _collector.LeaksOf(dataSource.Name).Snapshot().Select(ToLeak)],
            snapshot.PoolTimeouts,
            new FailuresDocument(window.FailureTotals, window.Failures),
            window.Leased,
            health.GetValueOrDefault(displayName),
            _tcp.Get(dataSource.Name, server));
    }

    private static HolderDocument ToHolder(SqlConnectionCallSiteUsage usage) =>
        new(CallSiteText(usage.CallSite), usage.CallSite?.FileName, usage.CallSite?.LineNumber, usage.CallSite?.MemberName, usage.LeaseCount, Seconds(usage.OldestHeldFor));

    private static LeakDocument ToLeak(SqlConnectionLeakReport report) =>
        new(JsonNamingPolicy.SnakeCaseLower.ConvertName(report.Kind.ToString()), report.DetectedAt, CallSiteText(report.Lease.CallSite), Seconds(report.Lease.HeldFor), report.Message);

    private static string CallSiteText(SqlConnectionCallSite? callSite) => callSite?.ToString() ?? "unknown call site";

    private static double Seconds(TimeSpan value) => Math.Round(value.TotalSeconds, 3);

    private static string VersionOf(Assembly assembly)
    {
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString()
            ?? "unknown";
        var metadata = version.IndexOf('+', StringComparison.Ordinal);
        return metadata < 0 ? version : version[..metadata];
    }
}

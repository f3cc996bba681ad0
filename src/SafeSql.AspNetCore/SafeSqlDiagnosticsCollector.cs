using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace SafeSql.AspNetCore;

/// <summary>
/// What the diagnostics endpoint remembers between requests, all of it bounded: per pool a ring of recent leak reports
/// and a <see cref="PoolHistory"/> (failures by kind from the "SafeSql" meter, the leased count sampled once per bucket
/// and at each request). Created by the first <c>MapSafeSqlDiagnostics</c> call, so it listens from before the first request.
/// </summary>
internal sealed class SafeSqlDiagnosticsCollector : IDisposable
{
    private readonly SafeSqlDiagnosticsOptions _options;
    private readonly ConcurrentDictionary<string, PoolHistory> _histories = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RecentLeakRing> _leaks = new(StringComparer.Ordinal);
    private readonly SafeSqlMeterSubscription _meters;
    private readonly ITimer _sampler;

    public SafeSqlDiagnosticsCollector(IServiceProvider services, IOptions<SafeSqlDiagnosticsOptions> options, DiagnosticsDataSources dataSources)
    {
        _options = options.Value;
        TimeProvider = services.GetService<TimeProvider>() ?? TimeProvider.System;
        DataSources = dataSources;
        _meters = new SafeSqlMeterSubscription(services.GetService<IMeterFactory>(), (pool, kind) => HistoryOf(pool).RecordFailure(TimeProvider.GetUtcNow(), kind));
        var bucket = TimeSpan.FromTicks(Math.Max(1, _options.HistoryWindow.Ticks / PoolHistory.BucketCount));
        _sampler = TimeProvider.CreateTimer(static state => ((SafeSqlDiagnosticsCollector)state!).SampleLeased(), this, bucket, bucket);
    }

    internal TimeProvider TimeProvider { get; }

    internal SafeSqlDiagnosticsOptions Options => _options;

    internal DiagnosticsDataSources DataSources { get; }

    internal SafeSqlMeterSubscription Meters => _meters;

    internal PoolHistory HistoryOf(string poolName) =>
        _histories.GetOrAdd(poolName, static (_, window) => new PoolHistory(window), _options.HistoryWindow);

    internal RecentLeakRing LeaksOf(string poolName) =>
        _leaks.GetOrAdd(poolName, static (_, capacity) => new RecentLeakRing(capacity), _options.RecentLeakCapacity);

    internal void RecordLeak(string poolName, SqlConnectionLeakReport report) => LeaksOf(poolName).Add(report);

    public void Dispose()
    {
        _sampler.Dispose();
        _meters.Dispose();
    }

    private void SampleLeased()
    {
        try
        {
            var now = TimeProvider.GetUtcNow();
            foreach (var dataSource in DataSources.All)
            {
                HistoryOf(dataSource.MetricPoolName).RecordLeased(now, dataSource.GetPoolSnapshot().LeasedCount);
            }
        }
        catch (Exception ex) when (ex is OptionsValidationException or ObjectDisposedException or InvalidOperationException)
        {
            // A data source that cannot be created (refused configuration: the application reports it at startup) or is
            // already disposed (shutdown) has no figure to sample; the next request shows the error or the empty pool.
        }
    }
}

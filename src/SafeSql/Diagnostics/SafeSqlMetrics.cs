using System.Diagnostics.Metrics;

namespace SafeSql.Diagnostics;

/// <summary>
/// The instruments of the "SafeSql" meter. This file holds the meter and the lease instruments;
/// <c>SafeSqlMetrics.Failures.cs</c> holds the failures by kind.
/// </summary>
/// <remarks>
/// Names follow OpenTelemetry's database client semantic conventions where one exists
/// (<c>db.client.connection.count</c>, <c>.max</c>, <c>.use_time</c>, <c>.timeouts</c>); SafeSql-specific ones live under
/// <c>db.client.connection.safesql.*</c>. Every measurement is tagged <c>db.client.connection.pool.name</c>.
/// </remarks>
internal sealed partial class SafeSqlMetrics : IDisposable
{
    /// <summary>OpenTelemetry attribute naming the pool: the factory's name.</summary>
    internal const string PoolNameTag = "db.client.connection.pool.name";

    /// <summary>OpenTelemetry attribute of <c>db.client.connection.count</c>: <c>idle</c> or <c>used</c>.</summary>
    internal const string ConnectionStateTag = "db.client.connection.state";

    /// <summary>SafeSql attribute of the leak counter: the leak kind in snake case (<c>not_disposed_before_scope_end</c>, ...).</summary>
    internal const string LeakKindTag = "safesql.leak.kind";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly List<IPoolMeasurements> _trackers = [];
    private readonly Histogram<double> _useTime;
    private readonly Counter<long> _timeouts;
    private readonly Counter<long> _leaks;

    public SafeSqlMetrics(IMeterFactory? meterFactory)
    {
        if (meterFactory is null)
        {
            _meter = new Meter(SafeSqlMetricNames.Meter);
            _ownsMeter = true;
        }
        else
        {
            _meter = meterFactory.Create(SafeSqlMetricNames.Meter);
        }

        _meter.CreateObservableUpDownCounter(
            SafeSqlMetricNames.ConnectionCount,
            ObserveLeased,
            unit: "{connection}",
            description: "The number of connections opened through SafeSql and not yet closed or disposed (state=used).");
        _meter.CreateObservableUpDownCounter(
            SafeSqlMetricNames.ConnectionMax,
            ObserveMaxPoolSize,
            unit: "{connection}",
            description: "The maximum number of open connections allowed: Max Pool Size of the normalized connection string.");
        _useTime = _meter.CreateHistogram(
            SafeSqlMetricNames.ConnectionUseTime,
            unit: "s",
            description: "The time between opening a connection through SafeSql and closing or disposing it (the lease duration).",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300] });
        _timeouts = _meter.CreateCounter<long>(
            SafeSqlMetricNames.ConnectionTimeouts,
            unit: "{timeout}",
            description: "The number of pool timeouts: opens that waited Connect Timeout for a free pooled connection and failed.");
        _leaks = _meter.CreateCounter<long>(
            SafeSqlMetricNames.Leaks,
            unit: "{leak}",
            description: "The number of connection leaks SafeSql detected, by kind (not_disposed_before_scope_end, collected_without_dispose, held_too_long).");
    }

    internal Meter Meter => _meter;

    internal bool IsUseTimeEnabled => _useTime.Enabled;

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    /// <summary>Adds a pool to the observable instruments until the returned registration is disposed.</summary>
    internal IDisposable Register(IPoolMeasurements tracker)
    {
        lock (_trackers)
        {
            _trackers.Add(tracker);
        }

        return new Registration(this, tracker);
    }

    internal void RecordUseTime(string poolName, double seconds) =>
        _useTime.Record(seconds, new KeyValuePair<string, object?>(PoolNameTag, poolName));

    internal void RecordPoolTimeout(string poolName) =>
        _timeouts.Add(1, new KeyValuePair<string, object?>(PoolNameTag, poolName));

    /// <summary>Counts one leak report; <paramref name="leakKindTagValue"/> is the kind in snake case (<see cref="LeakKindTag"/>).</summary>
    internal void RecordLeak(string poolName, string leakKindTagValue) =>
        _leaks.Add(
            1,
            new KeyValuePair<string, object?>(PoolNameTag, poolName),
            new KeyValuePair<string, object?>(LeakKindTag, leakKindTagValue));

    private IPoolMeasurements[] SnapshotTrackers()
    {
        lock (_trackers)
        {
            return [.. _trackers];
        }
    }

    private IEnumerable<Measurement<long>> ObserveLeased()
    {
        foreach (var tracker in SnapshotTrackers())
        {
            yield return new Measurement<long>(
                tracker.LeasedCount,
                new KeyValuePair<string, object?>(PoolNameTag, tracker.PoolName),
                new KeyValuePair<string, object?>(ConnectionStateTag, "used"));
        }
    }

    private IEnumerable<Measurement<long>> ObserveMaxPoolSize()
    {
        foreach (var tracker in SnapshotTrackers())
        {
            yield return new Measurement<long>(tracker.MaxPoolSize, new KeyValuePair<string, object?>(PoolNameTag, tracker.PoolName));
        }
    }

    private sealed class Registration(SafeSqlMetrics owner, IPoolMeasurements tracker) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._trackers)
            {
                owner._trackers.Remove(tracker);
            }
        }
    }
}

using System.Diagnostics.Metrics;

namespace SafeSql.Diagnostics;

/// <summary>
/// The instruments of the "SafeSql" meter. This file holds the meter and the lease instruments;
/// <c>SafeSqlMetrics.Failures.cs</c> holds the failures by kind.
/// </summary>
/// <remarks>
/// Names, units and attributes follow OpenTelemetry's database client metric conventions (semantic-conventions
/// <c>model/db/metrics.yaml</c>): <c>db.client.connection.count</c> (state <c>used</c>; SqlClient does not expose its idle
/// connections, so no <c>idle</c> count is reported), <c>.max</c>, <c>.pending_requests</c>, <c>.timeouts</c>,
/// <c>.create_time</c>, <c>.wait_time</c>, <c>.use_time</c>; SafeSql-specific ones live under
/// <c>db.client.connection.safesql.*</c>. Every measurement is tagged <c>db.client.connection.pool.name</c> (never empty) and
/// <c>db.system.name</c> = <c>microsoft.sql_server</c>. The observable instruments read counters the leases and opens keep
/// (O(1) per pool, no lock on the open path).
/// </remarks>
internal sealed partial class SafeSqlMetrics : IDisposable
{
    /// <summary>The meter name: "SafeSql".</summary>
    public const string MeterName = SafeSqlTelemetry.MeterName;

    /// <summary>OpenTelemetry attribute naming the pool: the instance name, or <c>server.address:server.port/db.namespace</c> for the default instance.</summary>
    internal const string PoolNameTag = "db.client.connection.pool.name";

    /// <summary>OpenTelemetry attribute naming the database system, on every measurement and on the open span.</summary>
    internal const string SystemNameTag = "db.system.name";

    /// <summary>The value of <see cref="SystemNameTag"/> for SQL Server (semantic-conventions <c>docs/db/sql-server.md</c>).</summary>
    internal const string SystemNameValue = "microsoft.sql_server";

    /// <summary>OpenTelemetry attribute of <c>db.client.connection.count</c>: <c>idle</c> or <c>used</c>.</summary>
    internal const string ConnectionStateTag = "db.client.connection.state";

    /// <summary>SafeSql attribute of the leak counter: the leak kind in snake case (<c>not_disposed_before_scope_end</c>, ...).</summary>
    internal const string LeakKindTag = "safesql.leak.kind";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly List<IPoolMeasurements> _trackers = [];
    private readonly Histogram<double> _useTime;
    private readonly Histogram<double> _createTime;
    private readonly Histogram<double> _waitTime;
    private readonly ObservableUpDownCounter<long> _pendingRequests;
    private readonly Counter<long> _timeouts;
    private readonly Counter<long> _leaks;

    public SafeSqlMetrics(IMeterFactory? meterFactory)
    {
        if (meterFactory is null)
        {
            _meter = new Meter(SafeSqlTelemetry.MeterName);
            _ownsMeter = true;
        }
        else
        {
            _meter = meterFactory.Create(SafeSqlTelemetry.MeterName);
        }

        _meter.CreateObservableUpDownCounter(
            SafeSqlMetricNames.ConnectionCount,
            ObserveLeased,
            unit: "{connection}",
            description: "The number of connections opened through SafeSql and not yet closed or disposed (state=used; SqlClient does not expose its idle connections).");
        _meter.CreateObservableUpDownCounter(
            SafeSqlMetricNames.ConnectionMax,
            ObserveMaxPoolSize,
            unit: "{connection}",
            description: "The maximum number of open connections allowed: Max Pool Size of the normalized connection string.");
        _pendingRequests = _meter.CreateObservableUpDownCounter(
            SafeSqlMetricNames.ConnectionPendingRequests,
            ObservePendingRequests,
            unit: "{request}",
            description: "The number of opens through a SafeSql data source that have not completed yet (waiting for the pool, a login or a retry).");
        _useTime = _meter.CreateHistogram(
            SafeSqlMetricNames.ConnectionUseTime,
            unit: "s",
            description: "The time between opening a connection through SafeSql and closing or disposing it (the lease duration).",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300] });
        _createTime = _meter.CreateHistogram(
            SafeSqlMetricNames.ConnectionCreateTime,
            unit: "s",
            description: "The time an open through SafeSql took when it made a new physical connection (a ClientConnectionId the pool had not handed out before): its last attempt, the connect and login included.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _waitTime = _meter.CreateHistogram(
            SafeSqlMetricNames.ConnectionWaitTime,
            unit: "s",
            description: "The time an open through SafeSql took to obtain an open connection, retries included (successful opens).",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00001, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30] });
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

    /// <summary>Gets whether <c>db.client.connection.pending_requests</c> is listened to (opens are counted only then).</summary>
    internal bool IsPendingRequestsEnabled => _pendingRequests.Enabled;

    /// <summary>Gets whether <c>db.client.connection.create_time</c> or <c>.wait_time</c> is listened to (opens are timed only then).</summary>
    internal bool IsOpenTimingEnabled => _createTime.Enabled || _waitTime.Enabled;

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
        _useTime.Record(seconds, PoolTag(poolName), SystemTag);

    /// <summary>Records the time an open took to make a new physical connection (<c>db.client.connection.create_time</c>).</summary>
    internal void RecordCreateTime(string poolName, double seconds) =>
        _createTime.Record(seconds, PoolTag(poolName), SystemTag);

    /// <summary>Records the time an open took to obtain its connection (<c>db.client.connection.wait_time</c>).</summary>
    internal void RecordWaitTime(string poolName, double seconds) =>
        _waitTime.Record(seconds, PoolTag(poolName), SystemTag);

    internal void RecordPoolTimeout(string poolName) =>
        _timeouts.Add(1, PoolTag(poolName), SystemTag);

    /// <summary>Counts one leak report; <paramref name="leakKindTagValue"/> is the kind in snake case (<see cref="LeakKindTag"/>).</summary>
    internal void RecordLeak(string poolName, string leakKindTagValue) =>
        _leaks.Add(
            1,
            PoolTag(poolName),
            SystemTag,
            new KeyValuePair<string, object?>(LeakKindTag, leakKindTagValue));

    private static KeyValuePair<string, object?> SystemTag => new(SystemNameTag, SystemNameValue);

    private static KeyValuePair<string, object?> PoolTag(string poolName) => new(PoolNameTag, poolName);

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
                PoolTag(tracker.TelemetryPoolName),
                SystemTag,
                new KeyValuePair<string, object?>(ConnectionStateTag, "used"));
        }
    }

    private IEnumerable<Measurement<long>> ObserveMaxPoolSize()
    {
        foreach (var tracker in SnapshotTrackers())
        {
            yield return new Measurement<long>(tracker.MaxPoolSize, PoolTag(tracker.TelemetryPoolName), SystemTag);
        }
    }

    private IEnumerable<Measurement<long>> ObservePendingRequests()
    {
        foreach (var tracker in SnapshotTrackers())
        {
            yield return new Measurement<long>(tracker.PendingRequests, PoolTag(tracker.TelemetryPoolName), SystemTag);
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

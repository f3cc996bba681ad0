using System.Collections.Concurrent;
using System.Data;
using System.Diagnostics;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Logging;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>
/// The leases of one pool (one named factory): starts and ends them, keeps the registry the snapshot and the
/// pool-exhausted message read, runs the held-too-long watchdog and reports leaks (log, metric, callback).
/// </summary>
internal sealed partial class LeaseTracker : IPoolMeasurements, IDisposable
{
    private static readonly Action<LeaseTracker> s_drainCollected = static tracker => tracker.DrainCollected();

    private readonly LeaseRegistry _registry = new();
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SafeSqlMetrics _metrics;
    private readonly IDisposable _metricsRegistration;
    private readonly Action<SqlConnectionLeakReport>? _onLeakDetected;
    private readonly ConcurrentQueue<LeaseRecord> _collected = new();
    private readonly bool _coarseClock;
    private readonly long _clockFrequency;
    private readonly string _poolDisplayName;
    private int _drainScheduled;
    private long _leaksDetected;
    private long _lastLeakTimestamp = long.MinValue;
    private long _poolTimeouts;
    private int _leasedCount;
    private int _pendingRequests;

    internal LeaseTracker(
        string poolName,
        SqlConnectionStringBuilder connectionString,
        SqlConnectionLeakOptions options,
        TimeProvider timeProvider,
        ILogger logger,
        SafeSqlMetrics metrics)
    {
        PoolName = poolName;
        Telemetry = PoolTelemetryAttributes.Create(poolName, connectionString);
        MaxPoolSize = connectionString.MaxPoolSize;
        Pooling = connectionString.Pooling;
        ConnectTimeoutSeconds = connectionString.ConnectTimeout;
        StackCapture = options.StackCapture;
        _onLeakDetected = options.OnLeakDetected;
        _timeProvider = timeProvider;
        _logger = logger;
        _metrics = metrics;
        LeakDetectionThreshold = options.LeakDetectionThreshold is { } threshold && threshold > TimeSpan.Zero && threshold != Timeout.InfiniteTimeSpan
            ? threshold
            : null;
        _coarseClock = ReferenceEquals(timeProvider, TimeProvider.System);
        _clockFrequency = _coarseClock ? 1000 : timeProvider.TimestampFrequency;
        _thresholdTimestampTicks = LeakDetectionThreshold is { } t
            ? (long)(t.Ticks * ((double)_clockFrequency / TimeSpan.TicksPerSecond))
            : 0;
        if (_thresholdTimestampTicks > 0)
        {
            _watchdogTimer = timeProvider.CreateTimer(static state => ((LeaseTracker)state!).OnWatchdogTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        PhysicalConnections = new PhysicalConnectionSet(Math.Max(2 * MaxPoolSize, LeaseDefaults.MinPhysicalConnectionGeneration));
        _metricsRegistration = metrics.Register(this);
        _poolDisplayName = PoolDisplayName.Of(poolName);
        var thresholdText = LeakDetectionThreshold is { } value ? value.ToString("c", System.Globalization.CultureInfo.InvariantCulture) : "off";
        LeaseLog.LeaseTrackingStarted(logger, _poolDisplayName, MaxPoolSize, StackCapture, thresholdText);
    }

    /// <summary>Gets the registered name of the first instance on the pool (empty for the default instance).</summary>
    public string PoolName { get; }

    /// <summary>Gets the pool's OpenTelemetry attributes; its <see cref="PoolTelemetryAttributes.PoolName"/> tags every lease measurement.</summary>
    internal PoolTelemetryAttributes Telemetry { get; }

    string IPoolMeasurements.TelemetryPoolName => Telemetry.PoolName;

    public int MaxPoolSize { get; }

    /// <summary>Gets the physical connections the pool handed out (<c>db.client.connection.create_time</c>).</summary>
    internal PhysicalConnectionSet PhysicalConnections { get; }

    /// <summary>Gets the opens through a data source on this pool that have not completed (counted only while
    /// <c>db.client.connection.pending_requests</c> is listened to).</summary>
    public int PendingRequests => Volatile.Read(ref _pendingRequests);

    internal bool Pooling { get; }

    internal int ConnectTimeoutSeconds { get; }

    internal SqlConnectionStackCaptureMode StackCapture { get; }

    internal TimeSpan? LeakDetectionThreshold { get; }

    internal TimeProvider TimeProvider => _timeProvider;

    /// <summary>Gets the number of active leases now: a counter maintained as leases start and end (O(1), no lock).</summary>
    public int LeasedCount => Volatile.Read(ref _leasedCount);

    /// <summary>Gets the registry's slots, active or not: its footprint is 8 bytes per slot (the soak checks it stays bounded).</summary>
    internal int RegistryCapacity => _registry.Capacity;

    /// <summary>Appends every active lease to <paramref name="target"/> (one pass over the registry: not for the hot path).</summary>
    internal void CopyActiveLeases(List<LeaseRecord> target) => _registry.CopyTo(target);

    /// <summary>Gets when the last leak was detected, on the lease clock (<see cref="GetTimestamp"/>); <see langword="null"/> if none.</summary>
    internal long? LastLeakTimestamp => Volatile.Read(ref _lastLeakTimestamp) is var value && value != long.MinValue ? value : null;

    /// <summary>
    /// Starts the lease of a connection that just opened: registers it, attaches a sentinel (the <c>StateChange</c> handler
    /// that ends the lease on close, and reports the connection if it is collected while open) and hands it to
    /// <paramref name="scope"/> if there is one.
    /// </summary>
    /// <exception cref="ObjectDisposedException"><paramref name="scope"/> was disposed while the connection opened; the scope disposed the connection.</exception>
    internal void Track(SqlConnection connection, ILeaseScope? scope, string? memberName, string? filePath, int lineNumber, StackTrace? stack)
    {
        var record = Begin(memberName, filePath, lineNumber, stack);
        RentSentinel().Attach(connection, record);
        scope?.Adopt(record, connection);
    }

    /// <summary>
    /// Starts a lease: registers its record (call site, optional stack, open time) and arms the held-too-long watchdog. The
    /// caller ends it through <see cref="OnClosed"/> or <see cref="OnCollected"/>.
    /// </summary>
    internal LeaseRecord Begin(string? memberName, string? filePath, int lineNumber, StackTrace? stack)
    {
        var useTimeStart = _coarseClock && _metrics.IsUseTimeEnabled ? Stopwatch.GetTimestamp() : 0;
        var record = StackCapture == SqlConnectionStackCaptureMode.None || (filePath is null && stack is null)
            ? new LeaseRecord(this, null, null, 0, null, GetTimestamp()) { UseTimeStart = useTimeStart }
            : new LeaseRecord(this, memberName, filePath, lineNumber, stack, GetTimestamp()) { UseTimeStart = useTimeStart };
        Interlocked.Increment(ref _leasedCount);
        _registry.Add(record);
        if (_thresholdTimestampTicks > 0)
        {
            ScheduleWatchdog(record.StartTimestamp + _thresholdTimestampTicks);
        }

        return record;
    }

    /// <summary>Called once per lease by the <see cref="LeaseRecord.TryEnd"/> that ended it: keeps <see cref="LeasedCount"/>.</summary>
    internal void OnLeaseEnded() => Interlocked.Decrement(ref _leasedCount);

    /// <summary>An open through a data source on this pool started (<c>db.client.connection.pending_requests</c>).</summary>
    internal void OnOpenStarted() => Interlocked.Increment(ref _pendingRequests);

    /// <summary>An open counted by <see cref="OnOpenStarted"/> completed, opened or failed.</summary>
    internal void OnOpenCompleted() => Interlocked.Decrement(ref _pendingRequests);

    /// <summary>The connection closed (any way): ends the lease; reports the return of a lease reported as held too long.</summary>
    internal void OnClosed(LeaseRecord record)
    {
        if (!record.TryEnd(out var wasReportedHeldTooLong))
        {
            return;
        }

        RecordUseTime(record);

        if (wasReportedHeldTooLong)
        {
            Report(SqlConnectionLeakKind.ReturnedAfterHeldTooLong, record, GetElapsedTime(record.StartTimestamp));
        }

        record.ReleaseReferences();
    }

    /// <summary>Runs on the finalizer thread: never touches the connection, only flips the state and queues the report.</summary>
    internal void OnCollected(LeaseRecord record)
    {
        if (!record.TryEnd(out _))
        {
            return;
        }

        _collected.Enqueue(record);
        if (Interlocked.Exchange(ref _drainScheduled, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(s_drainCollected, this, preferLocal: false);
        }
    }

    /// <summary>
    /// At scope end: ends the lease of a connection still open. Returns <see langword="false"/> when there is nothing to do
    /// (already closed; a close whose event SqlClient suppressed, e.g. after a failed reconnect, is ended quietly).
    /// </summary>
    internal bool TryEndAtScopeEnd(LeaseRecord record, SqlConnection connection, out TimeSpan heldFor)
    {
        heldFor = default;
        if (!record.IsActive)
        {
            return false;
        }

        if (connection.State == ConnectionState.Closed)
        {
            OnClosed(record);
            return false;
        }

        if (!record.TryEnd(out _))
        {
            return false;
        }

        heldFor = GetElapsedTime(record.StartTimestamp);
        RecordUseTime(record);
        return true;
    }

    /// <summary>Reports a connection that its scope disposed (call after disposing it).</summary>
    internal void ReportScopeLeak(LeaseRecord record, TimeSpan heldFor)
    {
        try
        {
            Report(SqlConnectionLeakKind.NotDisposedBeforeScopeEnd, record, heldFor);
        }
        finally
        {
            record.ReleaseReferences();
        }
    }

    internal void LogLeakedConnectionDisposeFailed(Exception exception) =>
        LeaseLog.LeakedConnectionDisposeFailed(_logger, exception, _poolDisplayName);

    /// <summary>Reports every queued collected lease; runs on a thread-pool thread (also callable directly).</summary>
    internal void DrainCollected()
    {
        Volatile.Write(ref _drainScheduled, 0);
        while (_collected.TryDequeue(out var record))
        {
            if (Volatile.Read(ref _disposed))
            {
                _collected.Clear();
                return;
            }

            ReportInBackground(SqlConnectionLeakKind.CollectedWithoutDispose, record, GetElapsedTime(record.StartTimestamp));
        }
    }

    /// <summary>
    /// Reports from a thread-pool or timer thread (the finalizer drain, the watchdog): nothing may escape there (it would
    /// end the process or stop the timer), so a throwing logger provider or metrics listener is caught and logged (2007).
    /// </summary>
    private void ReportInBackground(SqlConnectionLeakKind kind, LeaseRecord record, TimeSpan heldFor)
    {
        try
        {
            if (kind == SqlConnectionLeakKind.CollectedWithoutDispose)
            {
                RecordUseTime(record);
            }

            Report(kind, record, heldFor);
            if (kind == SqlConnectionLeakKind.CollectedWithoutDispose)
            {
                record.ReleaseReferences();
            }
        }
#pragma warning disable CA1031 // Nothing may escape a thread-pool work item or a timer callback.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            try
            {
                LeaseLog.LeakReportFailed(_logger, ex, _poolDisplayName, kind);
            }
#pragma warning disable CA1031 // The logger itself threw: there is nowhere left to report it.
            catch
#pragma warning restore CA1031
            {
            }
        }
    }

    /// <summary>
    /// Reads the lease clock. With <see cref="TimeProvider.System"/> it is <see cref="Environment.TickCount64"/>
    /// (milliseconds; a third of the cost of a <see cref="Stopwatch"/> read on the hot path, and precise enough for ages
    /// compared with thresholds of seconds); with any other provider (tests) it is the provider's timestamp.
    /// </summary>
    internal long GetTimestamp() => _coarseClock ? Environment.TickCount64 : _timeProvider.GetTimestamp();

    /// <summary>Converts a span of the lease clock to a <see cref="TimeSpan"/>.</summary>
    internal TimeSpan GetElapsedTime(long startTimestamp, long endTimestamp) =>
        new((long)((endTimestamp - startTimestamp) * ((double)TimeSpan.TicksPerSecond / _clockFrequency)));

    internal TimeSpan GetElapsedTime(long startTimestamp) => GetElapsedTime(startTimestamp, GetTimestamp());

    public void Dispose()
    {
        lock (_watchdogGate)
        {
            _disposed = true;
            _watchdogTimer?.Dispose();
        }

        _metricsRegistration.Dispose();
    }

    /// <summary>Records the lease duration (precise when the open took a <see cref="Stopwatch"/> timestamp for it).</summary>
    private void RecordUseTime(LeaseRecord record)
    {
        if (!_metrics.IsUseTimeEnabled)
        {
            return;
        }

        var heldFor = record.UseTimeStart != 0 ? Stopwatch.GetElapsedTime(record.UseTimeStart) : GetElapsedTime(record.StartTimestamp);
        _metrics.RecordUseTime(Telemetry.PoolName, heldFor.TotalSeconds);
    }

    private void Report(SqlConnectionLeakKind kind, LeaseRecord record, TimeSpan heldFor)
    {
        var now = _timeProvider.GetUtcNow();
        var callSite = record.CreateCallSite();
        var stackTrace = record.Stack is { } stack ? FormatStack(stack) : null;
        var lease = new SqlConnectionLease(PoolName, callSite, now - heldFor, heldFor, stackTrace);

        var pool = _poolDisplayName;
        var site = callSite?.ToString() ?? LeakMessages.UnknownCallSite;
        var seconds = LeakMessages.Seconds(heldFor);
        var suffix = LeakMessages.StackSuffix(stackTrace);
        string message;
        switch (kind)
        {
            case SqlConnectionLeakKind.NotDisposedBeforeScopeEnd:
                message = LeakMessages.Format(LeakMessages.NotDisposedBeforeScopeEndTemplate, ("PoolName", pool), ("CallSite", site), ("LeaseAgeSeconds", seconds), ("StackTrace", suffix));
                LeaseLog.LeakNotDisposedBeforeScopeEnd(_logger, pool, site, seconds, suffix);
                break;
            case SqlConnectionLeakKind.CollectedWithoutDispose:
                message = LeakMessages.Format(LeakMessages.CollectedWithoutDisposeTemplate, ("PoolName", pool), ("CallSite", site), ("LeaseAgeSeconds", seconds), ("StackTrace", suffix));
                LeaseLog.LeakCollectedWithoutDispose(_logger, pool, site, seconds, suffix);
                break;
            case SqlConnectionLeakKind.HeldTooLong:
                var threshold = LeakMessages.Seconds(LeakDetectionThreshold.GetValueOrDefault());
                message = LeakMessages.Format(LeakMessages.HeldTooLongTemplate, ("PoolName", pool), ("CallSite", site), ("LeaseAgeSeconds", seconds), ("LeakDetectionThresholdSeconds", threshold), ("StackTrace", suffix));
                LeaseLog.LeaseHeldTooLong(_logger, pool, site, seconds, threshold, suffix);
                break;
            default:
                message = LeakMessages.Format(LeakMessages.ReturnedAfterHeldTooLongTemplate, ("PoolName", pool), ("CallSite", site), ("LeaseAgeSeconds", seconds));
                LeaseLog.LeaseReturnedAfterHeldTooLong(_logger, pool, site, seconds);
                break;
        }

        if (kind != SqlConnectionLeakKind.ReturnedAfterHeldTooLong)
        {
            Interlocked.Increment(ref _leaksDetected);
            Volatile.Write(ref _lastLeakTimestamp, GetTimestamp());
            _metrics.RecordLeak(Telemetry.PoolName, LeakKindTagValue.Of(kind));
        }

        if (_onLeakDetected is { } callback)
        {
            try
            {
                callback(new SqlConnectionLeakReport(kind, lease, now, message));
            }
#pragma warning disable CA1031 // A user callback must not break scope disposal, the watchdog timer or the finalizer drain.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LeaseLog.LeakCallbackFailed(_logger, ex, pool);
            }
        }
    }

    /// <summary>
    /// Formats the stack captured at open from the caller on: leading frames of SafeSql itself and of the async
    /// machinery (System.Private.CoreLib) are dropped, so the first line is the code that called Open.
    /// </summary>
    private static string FormatStack(StackTrace stack)
    {
        var frames = stack.GetFrames();
        var safeSql = typeof(LeaseTracker).Assembly;
        var coreLib = typeof(object).Assembly;
        var first = 0;
        while (first < frames.Length - 1
            && frames[first].GetMethod()?.DeclaringType?.Assembly is { } assembly
            && (assembly == safeSql || assembly == coreLib))
        {
            first++;
        }

        return new StackTrace(frames[first..]).ToString().TrimEnd();
    }
}

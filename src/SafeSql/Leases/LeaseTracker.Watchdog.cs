namespace SafeSql;

/// <summary>
/// The held-too-long watchdog: one <see cref="ITimer"/> from the factory's <see cref="TimeProvider"/>, armed for the
/// earliest pending deadline (open time + threshold). When it fires it reports every lease past its deadline once and
/// re-arms for the next one, so it fires about once per threshold under steady churn, whatever the open rate.
/// </summary>
internal sealed partial class LeaseTracker
{
    private readonly long _thresholdTimestampTicks;
    private readonly ITimer? _watchdogTimer;
    private readonly Lock _watchdogGate = new();
    private long _nextDeadline = long.MaxValue;
    private bool _disposed;

    /// <summary>Gets whether this tracker has a watchdog timer (a leak detection threshold is set).</summary>
    internal bool HasWatchdog => _watchdogTimer is not null;

    /// <summary>Gets whether the watchdog timer is armed for a pending deadline (tests check it is disarmed once no lease is pending).</summary>
    internal bool IsWatchdogArmed => Volatile.Read(ref _nextDeadline) != long.MaxValue;

    /// <summary>Hot path: one volatile read unless <paramref name="deadline"/> is the earliest (then arms the timer).</summary>
    private void ScheduleWatchdog(long deadline)
    {
        if (deadline >= Volatile.Read(ref _nextDeadline))
        {
            return;
        }

        lock (_watchdogGate)
        {
            if (_disposed || deadline >= _nextDeadline)
            {
                return;
            }

            Volatile.Write(ref _nextDeadline, deadline);
            _watchdogTimer!.Change(DueTime(deadline, GetTimestamp()), Timeout.InfiniteTimeSpan);
        }
    }

    private void OnWatchdogTimer()
    {
        List<LeaseRecord>? due = null;
        long now;
        lock (_watchdogGate)
        {
            if (_disposed)
            {
                return;
            }

            // Reset first: a lease registered from here on arms the timer itself (it waits for this lock).
            Volatile.Write(ref _nextDeadline, long.MaxValue);
            var records = new List<LeaseRecord>();
            _registry.CopyTo(records);
            now = GetTimestamp();
            var next = long.MaxValue;
            foreach (var record in records)
            {
                if (!record.IsActiveAndUnreported)
                {
                    continue;
                }

                var deadline = record.StartTimestamp + _thresholdTimestampTicks;
                if (deadline <= now)
                {
                    if (record.TryMarkHeldTooLong())
                    {
                        (due ??= []).Add(record);
                    }
                }
                else if (deadline < next)
                {
                    next = deadline;
                }
            }

            if (next != long.MaxValue && next < _nextDeadline)
            {
                Volatile.Write(ref _nextDeadline, next);
                _watchdogTimer!.Change(DueTime(next, now), Timeout.InfiniteTimeSpan);
            }
        }

        if (due is not null)
        {
            foreach (var record in due)
            {
                if (Volatile.Read(ref _disposed))
                {
                    return;
                }

                ReportInBackground(SqlConnectionLeakKind.HeldTooLong, record, GetElapsedTime(record.StartTimestamp, now));
            }
        }
    }

    private TimeSpan DueTime(long deadline, long now) =>
        deadline <= now ? TimeSpan.Zero : GetElapsedTime(now, deadline);
}

namespace SafeSql;

/// <summary>
/// One <see cref="LeaseTracker"/> per SqlClient connection pool, that is per normalized connection string, for the whole
/// process: SqlClient keys its pools by connection string, so every data source and named instance that resolves to the
/// same string shares one pool, and must share one count of its leases (or the pool-timeout message and the pool pressure
/// would undercount).
/// </summary>
/// <remarks>
/// The first data source on a pool creates its tracker (its name, leak options, clock, logger and metrics apply); later
/// ones share it. The tracker is disposed (its watchdog stopped) when the last one releases it.
/// </remarks>
internal static class LeaseTrackerRegistry
{
    private static readonly Dictionary<string, Entry> s_trackers = new(StringComparer.Ordinal);
    private static readonly Lock s_gate = new();

    /// <summary>Gets the tracker of the pool of <paramref name="connectionString"/>, creating it when it is the first.</summary>
    /// <param name="connectionString">The normalized connection string (the SqlClient pool key). Never logged.</param>
    /// <param name="create">Creates the tracker for the first data source on the pool.</param>
    /// <param name="created">Whether this call created it.</param>
    internal static LeaseTracker Acquire(string connectionString, Func<LeaseTracker> create, out bool created)
    {
        lock (s_gate)
        {
            if (s_trackers.TryGetValue(connectionString, out var entry))
            {
                entry.References++;
                created = false;
                return entry.Tracker;
            }

            var tracker = create();
            s_trackers.Add(connectionString, new Entry(tracker));
            created = true;
            return tracker;
        }
    }

    /// <summary>Releases one reference; the last one disposes the tracker and returns <see langword="true"/>.</summary>
    internal static bool Release(string connectionString, LeaseTracker tracker)
    {
        lock (s_gate)
        {
            if (!s_trackers.TryGetValue(connectionString, out var entry) || !ReferenceEquals(entry.Tracker, tracker) || --entry.References > 0)
            {
                return false;
            }

            s_trackers.Remove(connectionString);
        }

        tracker.Dispose();
        return true;
    }

    private sealed class Entry(LeaseTracker tracker)
    {
        public LeaseTracker Tracker { get; } = tracker;

        public int References { get; set; } = 1;
    }
}

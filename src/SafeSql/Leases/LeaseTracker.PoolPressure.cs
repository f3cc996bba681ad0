using System.Globalization;
using System.Text;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>Pool pressure: the live snapshot and the pool-exhausted exception that names the holders.</summary>
internal sealed partial class LeaseTracker
{
    internal long PoolTimeouts => Interlocked.Read(ref _poolTimeouts);

    internal long LeaksDetected => Interlocked.Read(ref _leaksDetected);

    /// <summary>
    /// Whether an exception thrown by opening a fresh pooled connection is SqlClient's pool timeout.
    /// </summary>
    /// <remarks>
    /// SqlClient gives it no error number, no inner exception and no distinct type (a plain
    /// <see cref="InvalidOperationException"/> from <c>ADP.PooledOpenTimeout()</c>), and its message is localized. So the
    /// rule is: the connection string pools, the exception's type is exactly <see cref="InvalidOperationException"/>
    /// without an inner exception, and either every pooled connection is leased through this factory (leased count ≥
    /// Max Pool Size: language-independent) or the message is SqlClient's pool-timeout text, in English or in the current
    /// UI culture (<see cref="SqlClientSignatures.IsPoolTimeout"/>, shared with the classifier; this also covers a pool
    /// shared with code that bypasses SafeSql). No other <see cref="InvalidOperationException"/> comes out of opening a
    /// new, validated connection.
    /// </remarks>
    internal bool IsPoolTimeout(InvalidOperationException exception) =>
        Pooling
        && exception.GetType() == typeof(InvalidOperationException)
        && exception.InnerException is null
        && (LeasedCount >= MaxPoolSize || (SqlClientSignatures.IsPoolTimeout(exception, out var nonPooled) && !nonPooled));

    internal SqlConnectionPoolSnapshot GetSnapshot() => BuildSnapshot(out _, out _);

    /// <summary>Builds the enriched pool-timeout exception (and counts and logs the timeout).</summary>
    internal SqlConnectionPoolExhaustedException CreatePoolExhaustedException(InvalidOperationException poolTimeout)
    {
        Interlocked.Increment(ref _poolTimeouts);
        _metrics.RecordPoolTimeout(Telemetry.PoolName);
        var snapshot = BuildSnapshot(out var active, out var nowTimestamp);
        var message = BuildPoolExhaustedMessage(snapshot, active, nowTimestamp);
        LeaseLog.PoolExhausted(_logger, _poolDisplayName, message);
        return new SqlConnectionPoolExhaustedException(message, snapshot, poolTimeout);
    }

    /// <summary>The pool-exhausted message as it would read now (tests of its wording; nothing is counted or logged).</summary>
    internal string DescribePoolExhausted()
    {
        var snapshot = BuildSnapshot(out var active, out var nowTimestamp);
        return BuildPoolExhaustedMessage(snapshot, active, nowTimestamp);
    }

    private SqlConnectionPoolSnapshot BuildSnapshot(out List<LeaseRecord> active, out long nowTimestamp)
    {
        active = [];
        _registry.CopyTo(active);
        active.RemoveAll(static r => !r.IsActive);
        nowTimestamp = GetTimestamp();
        var now = _timeProvider.GetUtcNow();

        LeaseRecord? oldest = null;
        foreach (var record in active)
        {
            if (oldest is null || record.StartTimestamp < oldest.StartTimestamp)
            {
                oldest = record;
            }
        }

        var groups = GroupByCallSite(active);
        var byCount = groups.OrderByDescending(static g => g.Count).ThenBy(static g => g.OldestStart).Take(LeaseDefaults.LeaseSnapshotTopCallSites);
        var byAge = groups.OrderBy(static g => g.OldestStart).Take(LeaseDefaults.LeaseSnapshotTopCallSites);
        var ts = nowTimestamp;
        SqlConnectionCallSiteUsage ToUsage(CallSiteGroup g) =>
            new(g.Sample.CreateCallSite(), g.Count, GetElapsedTime(g.OldestStart, ts));

        var lastLeak = LastLeakTimestamp is { } leakTimestamp ? now - GetElapsedTime(leakTimestamp, ts) : (DateTimeOffset?)null;
        return new SqlConnectionPoolSnapshot(
            PoolName,
            now,
            active.Count,
            MaxPoolSize,
            Pooling,
            oldest is null ? null : ToView(oldest, now, ts),
            [.. byCount.Select(ToUsage)],
            [.. byAge.Select(ToUsage)],
            LeaksDetected,
            lastLeak,
            PoolTimeouts);
    }

    private SqlConnectionLease ToView(LeaseRecord record, DateTimeOffset now, long nowTimestamp)
    {
        var heldFor = GetElapsedTime(record.StartTimestamp, nowTimestamp);
        return new SqlConnectionLease(PoolName, record.CreateCallSite(), now - heldFor, heldFor, record.Stack is { } stack ? FormatStack(stack) : null);
    }

    /// <summary>
    /// "Connection pool exhausted: 100 of Max Pool Size=100 leased; 97 held > 30 s, opened at OrderRepository.cs:42
    /// (GetOrders). Dispose connections; raising Max Pool Size only hides the leak. ..."
    /// </summary>
    /// <remarks>
    /// "Held > N s" counts the leases older than the wait SqlClient just gave up on (Connect Timeout): each of them
    /// blocked the failed open for its whole wait. The call sites are those of these leases (of all leases if none).
    /// </remarks>
    private string BuildPoolExhaustedMessage(SqlConnectionPoolSnapshot snapshot, List<LeaseRecord> active, long nowTimestamp)
    {
        // SqlClient times its wait on its own clock; 100 ms of slack keeps a lease opened just before the wait in the count.
        var wait = TimeSpan.FromSeconds(ConnectTimeoutSeconds) - TimeSpan.FromMilliseconds(100);
        var heldLong = active.FindAll(r => GetElapsedTime(r.StartTimestamp, nowTimestamp) >= wait);
        var holders = heldLong.Count > 0 ? heldLong : active;

        var text = new StringBuilder("Connection pool exhausted: ");
        text.Append(CultureInfo.InvariantCulture, $"{snapshot.LeasedCount} of Max Pool Size={MaxPoolSize} leased");
        if (snapshot.LeasedCount < MaxPoolSize)
        {
            text.Append(" through SafeSql");
        }

        if (holders.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"; {heldLong.Count} held > {ConnectTimeoutSeconds} s, opened at ");
            var groups = GroupByCallSite(holders).OrderByDescending(static g => g.Count).ThenBy(static g => g.OldestStart).ToList();
            var shown = Math.Min(groups.Count, LeaseDefaults.PoolExhaustedMessageCallSites);
            for (var i = 0; i < shown; i++)
            {
                if (i > 0)
                {
                    text.Append(", ");
                }

                text.Append(groups[i].Sample.CreateCallSite()?.ToString() ?? LeakMessages.UnknownCallSite);
                if (groups.Count > 1)
                {
                    text.Append(CultureInfo.InvariantCulture, $" {groups[i].Count} {(groups[i].Count == 1 ? "time" : "times")}");
                }
            }

            if (groups.Count > shown)
            {
                text.Append(CultureInfo.InvariantCulture, $", and {groups.Count - shown} more call sites");
            }
        }

        if (snapshot.LeasedCount < MaxPoolSize)
        {
            // Not full through SafeSql: SqlClient's open waits for its creation lock too (pool v1, DbConnectionPool.TryGetConnection;
            // pool v2 counts connections being created against Max Pool Size), so queued opens behind a slow or failing connect
            // get the same pool-timeout exception.
            text.Append(CultureInfo.InvariantCulture, $". Either code that opens the same connection string without SafeSql holds the other connections, or the pool is not full: SqlClient creates new pooled connections {(SqlClientPoolVersion.IsV2 ? "in parallel but counts those being created against Max Pool Size (pool v2)" : "one at a time")}, so while the server is slow or unreachable, queued opens time out with this same message; the open failures logged before it (event {SafeSqlEventId.OpenAttemptFailed}) tell which");
        }

        text.Append(". Dispose connections; raising Max Pool Size only hides the leak.");
        text.Append(CultureInfo.InvariantCulture, $" (SqlClient waited Connect Timeout={ConnectTimeoutSeconds} s for a free pooled connection; see InnerException.)");
        return text.ToString();
    }

    private static List<CallSiteGroup> GroupByCallSite(List<LeaseRecord> records)
    {
        var groups = new Dictionary<(string? File, int Line, string? Member), CallSiteGroup>();
        foreach (var record in records)
        {
            var key = (record.FilePath, record.LineNumber, record.MemberName);
            if (groups.TryGetValue(key, out var group))
            {
                group.Count++;
                group.OldestStart = Math.Min(group.OldestStart, record.StartTimestamp);
            }
            else
            {
                groups.Add(key, new CallSiteGroup(record));
            }
        }

        return [.. groups.Values];
    }

    private sealed class CallSiteGroup(LeaseRecord sample)
    {
        internal LeaseRecord Sample { get; } = sample;

        internal int Count { get; set; } = 1;

        internal long OldestStart { get; set; } = sample.StartTimestamp;
    }
}

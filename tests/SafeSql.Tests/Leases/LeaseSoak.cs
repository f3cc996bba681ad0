using System.Diagnostics;
using System.Runtime.CompilerServices;

using Microsoft.Data.SqlClient;

using SafeSql.Testing;

namespace SafeSql.Tests.Leases;

/// <summary>
/// The lease soak: many pooled opens through a <see cref="SafeSqlDataSource"/> and its scopes against the loopback server, by
/// concurrent asynchronous workers, with one open in <see cref="LeaseSoakOptions.LeakEvery"/> leaked on purpose, and the
/// managed heap measured after a full garbage collection at every checkpoint. Shared by the CI test (a short run,
/// <c>LeaseSoakTests</c>) and the benchmark program's <c>soak</c> command (the long run).
/// </summary>
/// <remarks>
/// <para>
/// Every open is disposed by its worker except the planted leaks, which come in three kinds, each from a call site of its
/// own so a report can be matched to its plant: dropped without dispose (the finalizer sentinel must report it),
/// left open at the end of its scope (the scope must report it) and held longer than the leak detection threshold, then
/// disposed (the watchdog must report it, and its return). Held leases are few (<see cref="LeaseSoakOptions.HoldEvery"/>
/// leaks) because each keeps a pooled connection for <see cref="LeaseSoakOptions.HoldFor"/>.
/// </para>
/// <para>
/// The heap is measured with the workers stopped, after <c>GC.Collect</c>, the finalizers and a second full collection: what
/// remains is what SafeSql, SqlClient and the server keep, which must not grow with the number of opens.
/// </para>
/// </remarks>
internal static class LeaseSoak
{
    /// <summary>How long the soak waits for the finalizer and the watchdog to report the last planted leaks.</summary>
    private static readonly TimeSpan s_reportTimeout = TimeSpan.FromSeconds(60);

    public static async Task<LeaseSoakResult> RunAsync(LeaseSoakOptions options, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Opens, options.Checkpoints);
        await using var server = await LoopbackSqlServer.StartAsync();
        var reports = new ReportCounts();
        var builder = new SqlConnectionStringBuilder(server.ConnectionString) { ApplicationName = $"SafeSql.Soak.{Guid.NewGuid():N}" };
        var dataSourceBuilder = new SafeSqlDataSourceBuilder(builder.ConnectionString) { Name = "soak" };
        dataSourceBuilder.Options.Leaks.StackCapture = SqlConnectionStackCaptureMode.CallSite;
        dataSourceBuilder.Options.Leaks.LeakDetectionThreshold = options.LeakDetectionThreshold;
        dataSourceBuilder.Options.Leaks.OnLeakDetected = reports.Add;
        var result = new LeaseSoakResult { Opens = options.Opens, Workers = options.Workers };
        var dataSource = dataSourceBuilder.Build();
        try
        {
            var run = new Run(dataSource, options, result);
            await WarmPoolAsync(dataSource, builder.MaxPoolSize);
            var perCheckpoint = options.Opens / options.Checkpoints;
            var total = Stopwatch.StartNew();
            for (var checkpoint = 1; checkpoint <= options.Checkpoints; checkpoint++)
            {
                var end = checkpoint == options.Checkpoints ? options.Opens : checkpoint * perCheckpoint;
                await run.RunUntilAsync(end);
                var heap = MeasureHeap();
                result.Checkpoints.Add(new LeaseSoakCheckpoint(end, heap, total.Elapsed, server.Counters.OpenConnections, ThreadPool.ThreadCount, dataSource.Tracker.RegistryCapacity));
                progress?.Invoke($"soak: {end:N0} opens, {total.Elapsed.TotalSeconds:F1} s, heap after full GC {heap:N0} B, {server.Counters.OpenConnections} physical connections, {ThreadPool.ThreadCount} thread-pool threads, {dataSource.Tracker.RegistryCapacity} registry slots, leaks reported {reports.Total:N0} of {result.Planted:N0} planted");
            }

            result.Elapsed = total.Elapsed;

            // The held leases end after HoldFor; the last dropped ones are reported once the finalizer has run.
            await run.WaitForHoldsAsync();
            var deadline = Stopwatch.StartNew();
            while (!reports.Matches(result) && deadline.Elapsed < s_reportTimeout)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                await Task.Delay(50);
            }

            result.DrainElapsed = deadline.Elapsed;
            result.Reported = reports.Snapshot();
            result.LeasedAtEnd = dataSource.GetPoolSnapshot().LeasedCount;
        }
        finally
        {
            await dataSource.DisposeAsync();
            SqlConnection.ClearAllPools();
        }

        return result;
    }

    /// <summary>
    /// Fills SqlClient's pool up to Max Pool Size before the first open is counted. Otherwise the first synchronous opens each
    /// wait for a login on a thread-pool thread (on a small machine the pool of threads grows slowly), and the heap would
    /// grow with the pool as dropped connections hold pooled ones until the collector finds them: each physical connection
    /// carries SqlClient's packet buffers (tens of kilobytes), which is SqlClient's footprint, not SafeSql's.
    /// </summary>
    private static async Task WarmPoolAsync(SafeSqlDataSource dataSource, int maxPoolSize)
    {
        var connections = await Task.WhenAll(Enumerable.Range(0, maxPoolSize).Select(_ => dataSource.OpenConnectionAsync().AsTask()));
        foreach (var connection in connections)
        {
            await connection.DisposeAsync();
        }
    }

    private static long MeasureHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>The workers of one soak and the plants in flight.</summary>
    private sealed class Run(SafeSqlDataSource dataSource, LeaseSoakOptions options, LeaseSoakResult result)
    {
        private readonly List<Task> _holds = [];
        private long _next;
        private long _end;

        public async Task RunUntilAsync(long end)
        {
            Volatile.Write(ref _end, end);
            var workers = new Task[options.Workers];
            for (var i = 0; i < workers.Length; i++)
            {
                workers[i] = Task.Run(WorkAsync);
            }

            await Task.WhenAll(workers);
            Interlocked.Exchange(ref _next, end);
        }

        public async Task WaitForHoldsAsync()
        {
            Task[] holds;
            lock (_holds)
            {
                holds = [.. _holds];
            }

            await Task.WhenAll(holds);
        }

        private async Task WorkAsync()
        {
            while (true)
            {
                var index = Interlocked.Increment(ref _next) - 1;
                if (index >= Volatile.Read(ref _end))
                {
                    return;
                }

                try
                {
                    if (index % options.LeakEvery == options.LeakEvery - 1)
                    {
                        await PlantAsync(index / options.LeakEvery);
                    }
                    else
                    {
                        await OpenAndDisposeAsync(index);
                    }
                }
#pragma warning disable CA1031 // The soak counts every exception and reports the first; it must not stop at one.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    result.RecordException(ex);
                }
            }
        }

        /// <summary>The ordinary opens, in turn: the data source (async, sync, an unopened connection opened later) and a scope.</summary>
        private async Task OpenAndDisposeAsync(long index)
        {
            switch (index & 3)
            {
                case 0:
                    await using (await dataSource.OpenConnectionAsync())
                    {
                    }

                    break;
                case 1:
                    using (dataSource.OpenConnection())
                    {
                    }

                    break;
                case 2:
                    await using (var connection = dataSource.CreateConnection())
                    {
                        await connection.OpenAsync();
                    }

                    break;
                default:
                    await using (var scope = dataSource.CreateScope())
                    {
                        await using (await scope.OpenConnectionAsync())
                        {
                        }
                    }

                    break;
            }
        }

        private async Task PlantAsync(long leak)
        {
            if (leak % options.HoldEvery == 0)
            {
                result.CountPlant(SqlConnectionLeakKind.HeldTooLong);
                var connection = await OpenHeldAsync(dataSource);
                var hold = HoldThenDisposeAsync(connection, options.HoldFor);
                lock (_holds)
                {
                    _holds.Add(hold);
                }
            }
            else if (leak % 4 == 1)
            {
                result.CountPlant(SqlConnectionLeakKind.NotDisposedBeforeScopeEnd);
                await OpenInScopeAndLeaveOpenAsync(dataSource);
            }
            else
            {
                result.CountPlant(SqlConnectionLeakKind.CollectedWithoutDispose);
                if ((leak & 1) == 0)
                {
                    OpenAndDrop(dataSource);
                }
                else
                {
                    await OpenAndDropAsync(dataSource);
                }
            }
        }

        private static async Task HoldThenDisposeAsync(SqlConnection connection, TimeSpan holdFor)
        {
            await Task.Delay(holdFor);
            await connection.DisposeAsync();
        }
    }

    // The plants, one call site each (reports are matched to them by member name).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void OpenAndDrop(SafeSqlDataSource dataSource) => _ = dataSource.OpenConnection();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task OpenAndDropAsync(SafeSqlDataSource dataSource) => _ = await dataSource.OpenConnectionAsync();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task OpenInScopeAndLeaveOpenAsync(SafeSqlDataSource dataSource)
    {
        await using var scope = dataSource.CreateScope();
        _ = await scope.OpenConnectionAsync();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ValueTask<SqlConnection> OpenHeldAsync(SafeSqlDataSource dataSource) => dataSource.OpenConnectionAsync();

    /// <summary>
    /// Counts the leak reports by kind, and those whose call site is not a plant's. A dropped connection that the collector
    /// has not found when the threshold passes is, rightly, also reported as held too long (and later as collected): those
    /// are counted apart, so that each planted hold must be reported held too long exactly once.
    /// </summary>
    private sealed class ReportCounts
    {
        private static readonly HashSet<string> s_plants = new(StringComparer.Ordinal)
        {
            nameof(OpenAndDrop), nameof(OpenAndDropAsync), nameof(OpenInScopeAndLeaveOpenAsync), nameof(OpenHeldAsync),
        };

        private readonly long[] _byKind = new long[(int)SqlConnectionLeakKind.ReturnedAfterHeldTooLong + 1];
        private long _notPlanted;
        private long _heldTooLongHolds;
        private long _heldTooLongDrops;

        public long Total => Interlocked.Read(ref _byKind[(int)SqlConnectionLeakKind.CollectedWithoutDispose])
            + Interlocked.Read(ref _byKind[(int)SqlConnectionLeakKind.NotDisposedBeforeScopeEnd])
            + Interlocked.Read(ref _byKind[(int)SqlConnectionLeakKind.HeldTooLong]);

        public void Add(SqlConnectionLeakReport report)
        {
            Interlocked.Increment(ref _byKind[(int)report.Kind]);
            if (report.Lease.CallSite?.MemberName is not { } member || !s_plants.Contains(member))
            {
                Interlocked.Increment(ref _notPlanted);
            }
            else if (report.Kind == SqlConnectionLeakKind.HeldTooLong)
            {
                Interlocked.Increment(ref member == nameof(OpenHeldAsync) ? ref _heldTooLongHolds : ref _heldTooLongDrops);
            }
        }

        public bool Matches(LeaseSoakResult result)
        {
            result.Reported = Snapshot();
            return result.EveryLeakReportedOnce;
        }

        public LeaseSoakReports Snapshot() => new(
            Interlocked.Read(ref _byKind[(int)SqlConnectionLeakKind.CollectedWithoutDispose]),
            Interlocked.Read(ref _byKind[(int)SqlConnectionLeakKind.NotDisposedBeforeScopeEnd]),
            Interlocked.Read(ref _heldTooLongHolds),
            Interlocked.Read(ref _byKind[(int)SqlConnectionLeakKind.ReturnedAfterHeldTooLong]),
            Interlocked.Read(ref _notPlanted),
            Interlocked.Read(ref _heldTooLongDrops));
    }
}

/// <summary>The size and shape of a soak.</summary>
internal sealed record LeaseSoakOptions
{
    /// <summary>Gets how many pooled opens the soak makes in all (planted leaks included).</summary>
    public required long Opens { get; init; }

    /// <summary>Gets how many asynchronous workers open at the same time.</summary>
    public int Workers { get; init; } = 64;

    /// <summary>Gets how often an open is leaked on purpose: one in this many.</summary>
    public int LeakEvery { get; init; } = 1_000;

    /// <summary>Gets how often a planted leak is a lease held too long: one leak in this many (the others are dropped or left
    /// to their scope). Each holds a pooled connection for <see cref="HoldFor"/>, so they are kept few.</summary>
    public int HoldEvery { get; init; } = 50;

    /// <summary>Gets how many times the heap is measured (evenly spaced, the last at <see cref="Opens"/>).</summary>
    public int Checkpoints { get; init; } = 10;

    /// <summary>Gets the data source's leak detection threshold (2 s, the lowest the options accept).</summary>
    public TimeSpan LeakDetectionThreshold { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Gets how long a planted held-too-long lease is held before it is disposed: 3 times the threshold, because the watchdog's
    /// timer runs on the thread pool, which 64 busy workers on 2 cores can delay by more than a second (a lease disposed
    /// before the timer runs is not reported: the watchdog reports leases still held).
    /// </summary>
    public TimeSpan HoldFor { get; init; } = TimeSpan.FromSeconds(6);
}

/// <summary>The managed heap after a full collection, at a checkpoint.</summary>
/// <param name="Opens">The opens made so far.</param>
/// <param name="HeapBytes">The managed heap after a full collection (<c>GC.GetTotalMemory(true)</c>), in bytes.</param>
/// <param name="Elapsed">The time since the soak started.</param>
/// <param name="PhysicalConnections">The server's open TCP connections: SqlClient's pooled physical connections.</param>
/// <param name="Threads">The thread pool's threads (<see cref="ThreadPool.ThreadCount"/>).</param>
/// <param name="RegistrySlots">The slots of the tracker's lease registry, active or not.</param>
internal sealed record LeaseSoakCheckpoint(long Opens, long HeapBytes, TimeSpan Elapsed, long PhysicalConnections, int Threads, int RegistrySlots);

/// <summary>The leak reports received, by kind.</summary>
/// <param name="CollectedWithoutDispose">Reports of connections collected without dispose (the dropped plants).</param>
/// <param name="NotDisposedBeforeScopeEnd">Reports of connections left open at the end of their scope.</param>
/// <param name="HeldTooLongHolds">Held-too-long reports of the planted holds.</param>
/// <param name="ReturnedAfterHeldTooLong">Reports of held-too-long leases that were then disposed.</param>
/// <param name="NotPlanted">Reports of an open that was disposed by its worker: must be 0.</param>
/// <param name="HeldTooLongDrops">Held-too-long reports of dropped connections the collector had not found within the threshold.</param>
internal sealed record LeaseSoakReports(long CollectedWithoutDispose, long NotDisposedBeforeScopeEnd, long HeldTooLongHolds, long ReturnedAfterHeldTooLong, long NotPlanted, long HeldTooLongDrops = 0);

/// <summary>What a soak measured.</summary>
internal sealed class LeaseSoakResult
{
    private readonly long[] _planted = new long[(int)SqlConnectionLeakKind.ReturnedAfterHeldTooLong + 1];
    private long _exceptions;
    private Exception? _firstException;

    public long Opens { get; init; }

    public int Workers { get; init; }

    public List<LeaseSoakCheckpoint> Checkpoints { get; } = [];

    /// <summary>Gets the time the opens took (checkpoints' collections included, the final wait for reports not).</summary>
    public TimeSpan Elapsed { get; set; }

    /// <summary>Gets the time after the last open until every planted leak was reported (or the wait gave up).</summary>
    public TimeSpan DrainElapsed { get; set; }

    public LeaseSoakReports Reported { get; set; } = new(0, 0, 0, 0, 0);

    /// <summary>Gets whether every planted leak was reported once as its kind and no disposed open was reported.</summary>
    public bool EveryLeakReportedOnce =>
        Reported.NotPlanted == 0
        && Reported.CollectedWithoutDispose == PlantedCollected
        && Reported.NotDisposedBeforeScopeEnd == PlantedScopeEnd
        && Reported.HeldTooLongHolds == PlantedHeldTooLong
        && Reported.ReturnedAfterHeldTooLong == PlantedHeldTooLong
        && Reported.HeldTooLongDrops <= PlantedCollected;

    /// <summary>Gets the leases still active at the end (after every plant was disposed or reported).</summary>
    public int LeasedAtEnd { get; set; }

    public long PlantedCollected => Interlocked.Read(ref _planted[(int)SqlConnectionLeakKind.CollectedWithoutDispose]);

    public long PlantedScopeEnd => Interlocked.Read(ref _planted[(int)SqlConnectionLeakKind.NotDisposedBeforeScopeEnd]);

    public long PlantedHeldTooLong => Interlocked.Read(ref _planted[(int)SqlConnectionLeakKind.HeldTooLong]);

    public long Planted => PlantedCollected + PlantedScopeEnd + PlantedHeldTooLong;

    public long Exceptions => Interlocked.Read(ref _exceptions);

    public Exception? FirstException => Volatile.Read(ref _firstException);

    /// <summary>Gets the heap growth from the first checkpoint to the last, in bytes (negative if it shrank).</summary>
    public long HeapDrift => Checkpoints[^1].HeapBytes - Checkpoints[0].HeapBytes;

    /// <summary>Gets the spread of the heap over the checkpoints: largest minus smallest, in bytes.</summary>
    public long HeapSpread => Checkpoints.Max(c => c.HeapBytes) - Checkpoints.Min(c => c.HeapBytes);

    internal void CountPlant(SqlConnectionLeakKind kind) => Interlocked.Increment(ref _planted[(int)kind]);

    internal void RecordException(Exception exception)
    {
        Interlocked.Increment(ref _exceptions);
        Interlocked.CompareExchange(ref _firstException, exception, null);
    }

    /// <summary>The figures as text, one per line (what the command prints and the test shows on failure).</summary>
    public string Describe()
    {
        var lines = new List<string>
        {
            $"opens: {Opens:N0} by {Workers} workers in {Elapsed.TotalSeconds:F1} s ({Opens / Math.Max(Elapsed.TotalSeconds, 1e-9):N0} opens/s); reports drained {DrainElapsed.TotalSeconds:F1} s after the last open",
        };
        foreach (var checkpoint in Checkpoints)
        {
            lines.Add($"heap at {checkpoint.Opens,12:N0} opens: {checkpoint.HeapBytes,12:N0} B ({checkpoint.Elapsed.TotalSeconds:F1} s, {checkpoint.PhysicalConnections} physical connections, {checkpoint.Threads} thread-pool threads, {checkpoint.RegistrySlots:N0} registry slots)");
        }

        lines.Add($"heap drift first -> last checkpoint: {HeapDrift:N0} B; spread (max - min): {HeapSpread:N0} B");
        lines.Add($"planted: {Planted:N0} (dropped {PlantedCollected:N0}, left to scope end {PlantedScopeEnd:N0}, held too long {PlantedHeldTooLong:N0})");
        lines.Add($"reported: collected without dispose {Reported.CollectedWithoutDispose:N0}, not disposed before scope end {Reported.NotDisposedBeforeScopeEnd:N0}, held too long {Reported.HeldTooLongHolds:N0}, returned after held too long {Reported.ReturnedAfterHeldTooLong:N0}, from an open that was disposed {Reported.NotPlanted:N0}");
        lines.Add($"also held too long (dropped connections not yet collected when the threshold passed, then reported collected): {Reported.HeldTooLongDrops:N0}");
        lines.Add($"leased at end: {LeasedAtEnd}; exceptions: {Exceptions:N0}{(FirstException is { } first ? $" (first: {first.GetType().Name}: {first.Message})" : string.Empty)}");
        return string.Join(Environment.NewLine, lines);
    }
}

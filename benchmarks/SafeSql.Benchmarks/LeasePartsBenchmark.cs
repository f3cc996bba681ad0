using System.Data;

using BenchmarkDotNet.Attributes;

using Microsoft.Data.SqlClient;

namespace SafeSql.Benchmarks;

/// <summary>
/// Where a lease's nanoseconds go: each part of SafeSql's bookkeeping measured alone, against a raw pooled open + dispose (the
/// baseline), so the Ratio column reads as the part's share of a pooled open. The parts SafeSql pays per open today are the
/// clock read, the lease record, the registry's striped lock, a reused sentinel's rent and return, and subscribing and
/// unsubscribing its cached <c>StateChange</c> delegate; the others are what it paid before (a finalizable object and a
/// delegate per open) or would pay with other designs (re-arming a finalizer, a <see cref="System.Diagnostics.Stopwatch"/> read).
/// </summary>
/// <remarks>
/// Run: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- --filter '*LeasePartsBenchmark*'</c>.
/// </remarks>
[MemoryDiagnoser]
public class LeasePartsBenchmark
{
    private LoopbackBenchmarkEnvironment? _environment;
    private SafeSqlDataSource? _dataSource;
    private LeaseTracker? _tracker;
    private LeaseRegistry? _registry;
    private string _connectionString = string.Empty;
    private SqlConnection? _closed;
    private StateChangeEventHandler? _cached;
    private Finalizable? _armed;
    private object? _sink;

    [GlobalSetup]
    public void Setup()
    {
        _environment = LoopbackBenchmarkEnvironment.Start("SafeSql.Benchmarks.LeaseParts");
        _dataSource = _environment.CreateFactory();
        _tracker = _dataSource.Tracker;
        _registry = new LeaseRegistry();
        _connectionString = _dataSource.ConnectionStringWithPassword;
        _closed = new SqlConnection(_connectionString);
        _armed = new Finalizable();
        _cached = _armed.OnStateChange;
        RawOpenDispose();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _closed?.Dispose();
        _environment?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void RawOpenDispose()
    {
        using var connection = new SqlConnection(_connectionString);
        connection.Open();
    }

    [Benchmark]
    public long ClockRead_TickCount64() => _tracker!.GetTimestamp();

    [Benchmark]
    public long ClockRead_Stopwatch() => System.Diagnostics.Stopwatch.GetTimestamp();

    [Benchmark]
    public void Record_Allocate() => _sink = new LeaseRecord(_tracker!, "Member", "File.cs", 1, null, 0);

    /// <summary>Register a record and end it (the slot is reused by a later add): the registry's part of a lease.</summary>
    [Benchmark]
    public void Registry_AddEnded()
    {
        var record = new LeaseRecord(_tracker!, "Member", "File.cs", 1, null, 0);
        _registry!.Add(record);
        record.TryEnd(out _);
    }

    [Benchmark]
    public void Sentinel_RentReturn() => _tracker!.ReturnSentinel(_tracker.RentSentinel());

    [Benchmark]
    public void StateChange_CachedDelegate_SubscribeUnsubscribe()
    {
        _closed!.StateChange += _cached;
        _closed.StateChange -= _cached;
    }

    [Benchmark]
    public void StateChange_NewDelegate_SubscribeUnsubscribe()
    {
        var handler = new StateChangeEventHandler(_armed!.OnStateChange);
        _closed!.StateChange += handler;
        _closed.StateChange -= handler;
    }

    /// <summary>What a sentinel per open cost: allocating a finalizable object (registered with the finalization queue) and
    /// suppressing its finalizer on close.</summary>
    [Benchmark]
    public void Finalizable_AllocateAndSuppress()
    {
        var sentinel = new Finalizable();
#pragma warning disable CA1816 // Measures what the former per-open sentinel did on close.
        GC.SuppressFinalize(sentinel);
#pragma warning restore CA1816
        _sink = sentinel;
    }

    /// <summary>Re-arming a reused finalizable object instead (the design not taken: reused sentinels are never suppressed).</summary>
    [Benchmark]
    public void Finalizable_ReRegisterAndSuppress()
    {
        GC.ReRegisterForFinalize(_armed!);
#pragma warning disable CA1816 // See above.
        GC.SuppressFinalize(_armed!);
#pragma warning restore CA1816
    }

    private sealed class Finalizable
    {
        private static int s_finalized;

        ~Finalizable() => Interlocked.Increment(ref s_finalized);

        public void OnStateChange(object sender, StateChangeEventArgs e)
        {
        }
    }
}

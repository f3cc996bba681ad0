using BenchmarkDotNet.Attributes;

using Microsoft.Data.SqlClient;

namespace SafeSql.Benchmarks;

/// <summary>
/// Open + <c>SELECT 1</c> + close throughput at concurrency 1, 16 and 64: raw pooled <see cref="SqlConnection"/>
/// (the baseline), the same through SafeSql (root factory, <c>SqlConnectionStackCaptureMode.CallSite</c>, the default), and raw with
/// <c>Pooling=false</c>.
/// </summary>
/// <remarks>
/// <para>
/// Each invocation runs <see cref="Operations"/> operations spread over <see cref="Concurrency"/> asynchronous workers (a shared
/// countdown, so fast workers take more), and the times are per operation: throughput = 1 / Mean (the Op/s column). The pooled
/// rows reuse at most <see cref="Concurrency"/> physical connections (Max Pool Size is 100); the first command after a pooled
/// open carries the pool's RESETCONNECTION flag, so each operation is one round trip. The unpooled row makes a TCP connection
/// and logs in for every operation.
/// </para>
/// <para>
/// Ports: an invocation of the unpooled row makes <see cref="Operations"/> connections (each leaves a TIME_WAIT socket); an
/// invocation takes longer than BenchmarkDotNet's iteration time, so each iteration is one invocation and a whole run makes a
/// few thousand connections per concurrency level, reusable after 1 s on loopback (<c>net.ipv4.tcp_tw_reuse=2</c>).
/// Run: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- --filter *Throughput*</c>.
/// </para>
/// </remarks>
[MemoryDiagnoser]
public class ThroughputBenchmark
{
    /// <summary>Operations per invocation, at every concurrency level (a multiple of 64, so each worker gets work).</summary>
    public const int Operations = 512;

    private LoopbackBenchmarkEnvironment? _environment;
    private SafeSqlDataSource? _factory;
    private string _pooled = string.Empty;
    private string _unpooled = string.Empty;
    private int _remaining;

    /// <summary>Gets or sets how many operations run at the same time.</summary>
    [Params(1, 16, 64)]
    public int Concurrency { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _environment = LoopbackBenchmarkEnvironment.Start("SafeSql.Benchmarks.Throughput");
        _pooled = _environment.Pooled;
        _unpooled = _environment.Unpooled;
        _factory = _environment.CreateFactory();

        // Fill the pool to the concurrency level once, so no measured iteration pays for a login (raw and SafeSql share it).
        RunAsync(RawPooledOnceAsync).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _environment?.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    public Task RawPooled() => RunAsync(RawPooledOnceAsync);

    [Benchmark(OperationsPerInvoke = Operations)]
    public Task SafeSql() => RunAsync(SafeSqlOnceAsync);

    [Benchmark(OperationsPerInvoke = Operations)]
    public Task RawUnpooled() => RunAsync(RawUnpooledOnceAsync);

    private static async Task<object?> SelectOneAsync(SqlConnection connection)
    {
        await using var command = new SqlCommand("SELECT 1", connection);
        return await command.ExecuteScalarAsync();
    }

    private async Task RawPooledOnceAsync()
    {
        await using var connection = new SqlConnection(_pooled);
        await connection.OpenAsync();
        _ = await SelectOneAsync(connection);
    }

    private async Task SafeSqlOnceAsync()
    {
        await using var connection = await _factory!.OpenConnectionAsync();
        _ = await SelectOneAsync(connection);
    }

    private async Task RawUnpooledOnceAsync()
    {
        await using var connection = new SqlConnection(_unpooled);
        await connection.OpenAsync();
        _ = await SelectOneAsync(connection);
    }

    private Task RunAsync(Func<Task> operation)
    {
        _remaining = Operations;
        var workers = new Task[Concurrency];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = WorkAsync(operation);
        }

        return Task.WhenAll(workers);
    }

    private async Task WorkAsync(Func<Task> operation)
    {
        // Yield first so that every worker starts before any of them finishes an operation.
        await Task.Yield();
        while (Interlocked.Decrement(ref _remaining) >= 0)
        {
            await operation();
        }
    }
}

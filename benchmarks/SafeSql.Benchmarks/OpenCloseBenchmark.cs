using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Logging.Abstractions;

using SafeSql.ConnectionStrings;
using SafeSql.Diagnostics;
using SafeSql.Testing;

namespace SafeSql.Benchmarks;

/// <summary>
/// What a lease costs: open + dispose of a pooled connection through SafeSql, per <see cref="SqlConnectionStackCaptureMode"/>, against
/// raw <c>new SqlConnection(cs)</c> Open + Dispose on the same SqlClient pool of the same loopback server.
/// </summary>
/// <remarks>
/// <para>
/// Target: <see cref="SqlConnectionStackCaptureMode.CallSite"/> within 5 % of raw and under 200 extra bytes per open. A pooled open
/// does not touch the network (SqlClient sends the pool reset with the next command), so this measures pure client-side
/// overhead. The held-too-long watchdog is on (30 s default) and nothing listens to the meter, as in production without
/// an exporter.
/// </para>
/// <para>
/// <c>SafeSql_*</c> go through the whole factory, including the classification-driven Polly open pipeline;
/// <c>LeaseOnly_CallSite</c> is raw plus the lease bookkeeping alone (start, sentinel, registry, end), the part
/// a lease adds. Run: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- --filter 'SafeSql.Benchmarks.OpenCloseBenchmark.*'</c>.
/// </para>
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class OpenCloseBenchmark
{
    private const string Sync = "Sync";
    private const string Async = "Async";

    private LoopbackSqlServer? _server;
    private string _connectionString = string.Empty;
    private SafeSqlDataSource? _none;
    private SafeSqlDataSource? _callSite;
    private SafeSqlDataSource? _full;
    private ISqlConnectionScope? _scope;

    [GlobalSetup]
    public void Setup()
    {
        _server = LoopbackSqlServer.StartAsync().GetAwaiter().GetResult();
        var raw = new SqlConnectionStringBuilder(_server.ConnectionString) { ApplicationName = "SafeSql.Benchmarks.OpenClose" }.ConnectionString;
        // One SqlClient pool per capture mode (data sources on one pool share one lease tracker, with the first one's
        // options); Raw uses the CallSite data source's normalized string, so the baseline and SafeSql_CallSite share a pool.
        _none = Create(raw, SqlConnectionStackCaptureMode.None);
        _callSite = Create(raw, SqlConnectionStackCaptureMode.CallSite);
        _full = Create(raw, SqlConnectionStackCaptureMode.Full);
        _scope = _callSite.CreateScope();
        _connectionString = _callSite.ConnectionStringWithPassword;
        foreach (var dataSource in new[] { _none, _callSite, _full })
        {
            using var warm = dataSource.OpenConnection();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _scope?.Dispose();
        _none?.Dispose();
        _callSite?.Dispose();
        _full?.Dispose();
        SqlConnection.ClearAllPools();
        _server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory(Sync)]
    public void Raw()
    {
        using var connection = new SqlConnection(_connectionString);
        connection.Open();
    }

    [Benchmark]
    [BenchmarkCategory(Sync)]
    public void LeaseOnly_CallSite()
    {
        using var connection = new SqlConnection(_connectionString);
        connection.Open();
        _callSite!.Tracker.Track(connection, null, nameof(LeaseOnly_CallSite), "OpenCloseBenchmark.cs", 1, null);
    }

    [Benchmark]
    [BenchmarkCategory(Sync)]
    public void SafeSql_None()
    {
        using var connection = _none!.OpenConnection();
    }

    [Benchmark]
    [BenchmarkCategory(Sync)]
    public void SafeSql_CallSite()
    {
        using var connection = _callSite!.OpenConnection();
    }

    [Benchmark]
    [BenchmarkCategory(Sync)]
    public void SafeSql_CallSite_InScope()
    {
        using var connection = _scope!.OpenConnection();
    }

    [Benchmark]
    [BenchmarkCategory(Sync)]
    public void SafeSql_Full()
    {
        using var connection = _full!.OpenConnection();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory(Async)]
    public async Task RawAsync()
    {
        await using var connection = new SqlConnection(_connectionString);
        await connection.OpenAsync();
    }

    [Benchmark]
    [BenchmarkCategory(Async)]
    public async Task LeaseOnly_CallSiteAsync()
    {
        await using var connection = new SqlConnection(_connectionString);
        await connection.OpenAsync();
        _callSite!.Tracker.Track(connection, null, nameof(LeaseOnly_CallSiteAsync), "OpenCloseBenchmark.cs", 1, null);
    }

    [Benchmark]
    [BenchmarkCategory(Async)]
    public async Task SafeSql_NoneAsync()
    {
        await using var connection = await _none!.OpenConnectionAsync();
    }

    [Benchmark]
    [BenchmarkCategory(Async)]
    public async Task SafeSql_CallSiteAsync()
    {
        await using var connection = await _callSite!.OpenConnectionAsync();
    }

    [Benchmark]
    [BenchmarkCategory(Async)]
    public async Task SafeSql_CallSite_InScopeAsync()
    {
        await using var connection = await _scope!.OpenConnectionAsync();
    }

    [Benchmark]
    [BenchmarkCategory(Async)]
    public async Task SafeSql_FullAsync()
    {
        await using var connection = await _full!.OpenConnectionAsync();
    }

    private static SafeSqlDataSource Create(string connectionString, SqlConnectionStackCaptureMode mode)
    {
        var builder = new SqlConnectionStringBuilder(connectionString);
        builder.ApplicationName += "." + mode;
        var options = new SafeSqlOptions { ConnectionString = builder.ConnectionString };
        options.Leaks.StackCapture = mode;
        return new SafeSqlDataSource($"bench-{mode}", options, NullLoggerFactory.Instance, new SafeSqlMetrics(null), TimeProvider.System);
    }
}

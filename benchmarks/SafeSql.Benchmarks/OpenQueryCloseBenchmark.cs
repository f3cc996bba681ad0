using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

using Microsoft.Data.SqlClient;

namespace SafeSql.Benchmarks;

/// <summary>
/// The unit of real work: a pooled open, <c>SELECT 1</c> (one round trip to the loopback server, carrying the pool's reset)
/// and close, raw SqlClient (the baseline) against the same through SafeSql (<c>SqlConnectionStackCaptureMode.CallSite</c>, the default),
/// sequential, sync and async.
/// </summary>
/// <remarks>
/// Target: SafeSql within 1 % of raw. Both sides open from the same SqlClient pool of the same in-process server, so the
/// round trip (client, server and kernel on the same cores) is the same on both sides and only SafeSql's lease differs.
/// Run: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- --filter '*OpenQueryCloseBenchmark*'</c>.
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class OpenQueryCloseBenchmark
{
    private const string Sync = "Sync";
    private const string Async = "Async";

    private LoopbackBenchmarkEnvironment? _environment;
    private SafeSqlDataSource? _dataSource;
    private string _connectionString = string.Empty;

    [GlobalSetup]
    public void Setup()
    {
        _environment = LoopbackBenchmarkEnvironment.Start("SafeSql.Benchmarks.OpenQueryClose");
        _dataSource = _environment.CreateFactory();

        // The data source's own normalized string: raw and SafeSql share one SqlClient pool, one physical connection.
        _connectionString = _dataSource.ConnectionStringWithPassword;
        Raw();
        SafeSql_CallSite();
    }

    [GlobalCleanup]
    public void Cleanup() => _environment?.Dispose();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory(Sync)]
    public object? Raw()
    {
        using var connection = new SqlConnection(_connectionString);
        connection.Open();
        return SelectOne(connection);
    }

    [Benchmark]
    [BenchmarkCategory(Sync)]
    public object? SafeSql_CallSite()
    {
        using var connection = _dataSource!.OpenConnection();
        return SelectOne(connection);
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory(Async)]
    public async Task<object?> RawAsync()
    {
        await using var connection = new SqlConnection(_connectionString);
        await connection.OpenAsync();
        return await SelectOneAsync(connection);
    }

    [Benchmark]
    [BenchmarkCategory(Async)]
    public async Task<object?> SafeSql_CallSiteAsync()
    {
        await using var connection = await _dataSource!.OpenConnectionAsync();
        return await SelectOneAsync(connection);
    }

    private static object? SelectOne(SqlConnection connection)
    {
        using var command = new SqlCommand("SELECT 1", connection);
        return command.ExecuteScalar();
    }

    private static async Task<object?> SelectOneAsync(SqlConnection connection)
    {
        await using var command = new SqlCommand("SELECT 1", connection);
        return await command.ExecuteScalarAsync();
    }
}

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

using Microsoft.Data.SqlClient;

using Polly;

namespace SafeSql.Benchmarks;

/// <summary>
/// Where SafeSql's per-open time goes, to say what would bring <c>SqlConnectionStackCaptureMode.CallSite</c> within 5 % of raw:
/// raw pooled open + dispose (the baseline), the same through an empty Polly pipeline, through the open retry pipeline the
/// factory builds (<c>AddSqlOpenRetry</c> with the default <see cref="SqlRetryStrategyOptions"/>, named like the factory's), and the
/// whole SafeSql open (pipeline + lease). The lease alone is <c>OpenCloseBenchmark.LeaseOnly_CallSite</c>.
/// </summary>
/// <remarks>
/// Nothing fails here, so the retry strategy never classifies or waits: the rows measure the success path only, the one every
/// open takes. Run: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- --filter *OpenPathBreakdown*</c>.
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class OpenPathBreakdownBenchmark
{
    private const string Sync = "Sync";
    private const string Async = "Async";

    private static readonly Func<string, SqlConnection> s_open = static connectionString =>
    {
        var connection = new SqlConnection(connectionString);
        connection.Open();
        return connection;
    };

    private static readonly Func<string, CancellationToken, ValueTask<SqlConnection>> s_openAsync = static async (connectionString, cancellationToken) =>
    {
        var connection = new SqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    };

    private LoopbackBenchmarkEnvironment? _environment;
    private SafeSqlDataSource? _factory;
    private ResiliencePipeline _empty = ResiliencePipeline.Empty;
    private ResiliencePipeline _openRetry = ResiliencePipeline.Empty;
    private string _pooled = string.Empty;

    [GlobalSetup]
    public void Setup()
    {
        _environment = LoopbackBenchmarkEnvironment.Start("SafeSql.Benchmarks.Breakdown");
        _pooled = _environment.Pooled;
        _factory = _environment.CreateFactory();
        _empty = new ResiliencePipelineBuilder().Build();
        _openRetry = new ResiliencePipelineBuilder { Name = "SafeSql", InstanceName = "breakdown", TimeProvider = TimeProvider.System }
            .AddSqlOpenRetry(new SqlRetryStrategyOptions(), _pooled)
            .Build();
        _environment.WarmPool();
    }

    [GlobalCleanup]
    public void Cleanup() => _environment?.Dispose();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory(Sync)]
    public void Raw()
    {
        using var connection = new SqlConnection(_pooled);
        connection.Open();
    }

    [Benchmark]
    [BenchmarkCategory(Sync)]
    public void Raw_InEmptyPipeline()
    {
        using var connection = _empty.Execute(s_open, _pooled);
    }

    [Benchmark]
    [BenchmarkCategory(Sync)]
    public void Raw_InOpenRetryPipeline()
    {
        using var connection = _openRetry.Execute(s_open, _pooled);
    }

    [Benchmark]
    [BenchmarkCategory(Sync)]
    public void SafeSql_CallSite()
    {
        using var connection = _factory!.OpenConnection();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory(Async)]
    public async Task RawAsync()
    {
        await using var connection = new SqlConnection(_pooled);
        await connection.OpenAsync();
    }

    [Benchmark]
    [BenchmarkCategory(Async)]
    public async Task Raw_InEmptyPipelineAsync()
    {
        await using var connection = await _empty.ExecuteAsync(s_openAsync, _pooled, CancellationToken.None);
    }

    [Benchmark]
    [BenchmarkCategory(Async)]
    public async Task Raw_InOpenRetryPipelineAsync()
    {
        await using var connection = await _openRetry.ExecuteAsync(s_openAsync, _pooled, CancellationToken.None);
    }

    [Benchmark]
    [BenchmarkCategory(Async)]
    public async Task SafeSql_CallSiteAsync()
    {
        await using var connection = await _factory!.OpenConnectionAsync();
    }
}

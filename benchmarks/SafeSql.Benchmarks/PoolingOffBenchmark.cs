using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

using Microsoft.Data.SqlClient;

using SafeSql.Testing;

namespace SafeSql.Benchmarks;

/// <summary>
/// What <c>Pooling=false</c> costs per open + close: raw pooled <see cref="SqlConnection"/> (the baseline) against the
/// same string with <c>Pooling=false</c>, which makes a TCP connection, a PRELOGIN and a LOGIN7 on every open and leaves a
/// client socket in TIME_WAIT on every close.
/// </summary>
/// <remarks>
/// <para>
/// SafeSql per <c>SqlConnectionStackCaptureMode</c> against the same baseline is <c>OpenCloseBenchmark</c>; this class
/// adds only the unpooled row that SafeSql's policy refuses (SAFESQL004). A pooled open sends nothing (SqlClient sends the pool
/// reset with the next command), so the baseline is client CPU only, while the unpooled open is two round trips plus the TCP
/// handshake and teardown against a loopback server running in this same process.
/// </para>
/// <para>
/// Ports: each unpooled open leaves one TIME_WAIT socket for 60 s. Linux reuses a loopback TIME_WAIT port for a new outgoing
/// connection after 1 s (<c>net.ipv4.tcp_tw_reuse=2</c>, the default), and BenchmarkDotNet's pilot sizes iterations to
/// ~0.5 s, so a run stays far below the 28,232 ports of the default range.
/// Run: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- --filter *PoolingOff*</c>.
/// </para>
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PoolingOffBenchmark
{
    private const string Sync = "Sync";
    private const string Async = "Async";

    private LoopbackBenchmarkEnvironment? _environment;
    private string _pooled = string.Empty;
    private string _unpooled = string.Empty;

    /// <summary>Gets or sets what the server offers: <c>Supported</c> (TLS, as a real server: each unpooled open pays a TLS
    /// handshake) or <c>NotSupported</c> (a connection in clear).</summary>
    [Params(LoopbackEncryption.Supported, LoopbackEncryption.NotSupported)]
    public LoopbackEncryption Encryption { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _environment = LoopbackBenchmarkEnvironment.Start("SafeSql.Benchmarks.Unpooled", Encryption);
        _pooled = _environment.Pooled;
        _unpooled = _environment.Unpooled;
        _environment.WarmPool();
    }

    [GlobalCleanup]
    public void Cleanup() => _environment?.Dispose();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory(Sync)]
    public void RawPooled()
    {
        using var connection = new SqlConnection(_pooled);
        connection.Open();
    }

    [Benchmark]
    [BenchmarkCategory(Sync)]
    public void RawUnpooled()
    {
        using var connection = new SqlConnection(_unpooled);
        connection.Open();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory(Async)]
    public async Task RawPooledAsync()
    {
        await using var connection = new SqlConnection(_pooled);
        await connection.OpenAsync();
    }

    [Benchmark]
    [BenchmarkCategory(Async)]
    public async Task RawUnpooledAsync()
    {
        await using var connection = new SqlConnection(_unpooled);
        await connection.OpenAsync();
    }
}

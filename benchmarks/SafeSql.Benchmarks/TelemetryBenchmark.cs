using System.Diagnostics;
using System.Diagnostics.Metrics;

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Logging.Abstractions;

using SafeSql.Diagnostics;
using SafeSql.Testing;

namespace SafeSql.Benchmarks;

/// <summary>
/// What SafeSql's telemetry costs on the open path: open + dispose of a pooled connection through a data source with nothing
/// listening, with a <see cref="MeterListener"/> on every instrument of its "SafeSql" meter, and with an
/// <see cref="ActivityListener"/> recording every "SafeSql" span, each beside raw <c>new SqlConnection(cs)</c> Open + Dispose on
/// the same SqlClient pool of the same loopback server.
/// </summary>
/// <remarks>
/// The listener is the parameter, so that with <c>none</c> nothing listens in the process at all (the activity source is
/// process-wide). Goal: with no listener, SafeSql's ratio to raw as in OpenCloseBenchmark; with listeners, the added cost
/// recorded. Run: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- --filter '*TelemetryBenchmark*'</c>.
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams, BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class TelemetryBenchmark
{
    private const string Sync = "Sync";
    private const string Async = "Async";

    private LoopbackSqlServer? _server;
    private SafeSqlDataSource? _dataSource;
    private MeterListener? _meterListener;
    private ActivityListener? _activityListener;
    private string _connectionString = string.Empty;
    private long _measurements;

    /// <summary>Gets or sets what listens: <c>none</c>, <c>meter</c> (every instrument of the data source's meter) or
    /// <c>activity</c> (every span of the "SafeSql" source, sampled and recorded).</summary>
    [Params("none", "meter", "activity")]
    public string Listener { get; set; } = "none";

    [GlobalSetup]
    public void Setup()
    {
        _server = LoopbackSqlServer.StartAsync().GetAwaiter().GetResult();
        var raw = new SqlConnectionStringBuilder(_server.ConnectionString) { ApplicationName = "SafeSql.Benchmarks.Telemetry" }.ConnectionString;
        _dataSource = new SafeSqlDataSource("bench-telemetry", new SafeSqlOptions { ConnectionString = raw }, NullLoggerFactory.Instance, new SafeSqlMetrics(null), TimeProvider.System);
        _connectionString = _dataSource.ConnectionStringWithPassword;
        if (Listener == "meter")
        {
            var meter = _dataSource.Metrics.Meter;
            _meterListener = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (ReferenceEquals(instrument.Meter, meter))
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _meterListener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _measurements, value));
            _meterListener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _measurements));
            _meterListener.Start();
        }
        else if (Listener == "activity")
        {
            _activityListener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == SafeSqlTelemetry.ActivitySourceName,
                Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _ => Interlocked.Increment(ref _measurements),
            };
            ActivitySource.AddActivityListener(_activityListener);
        }

        using var warm = _dataSource.OpenConnection();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _meterListener?.Dispose();
        _activityListener?.Dispose();
        _dataSource?.Dispose();
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
    public void SafeSql()
    {
        using var connection = _dataSource!.OpenConnection();
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
    public async Task SafeSqlAsync()
    {
        await using var connection = await _dataSource!.OpenConnectionAsync();
    }
}

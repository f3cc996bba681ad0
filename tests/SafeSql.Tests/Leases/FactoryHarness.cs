using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

using Microsoft.Data.SqlClient;

using SafeSql.Diagnostics;
using SafeSql.Leases;
using SafeSql.Resilience;
using SafeSql.Tests.TestUtilities;

namespace SafeSql.Tests.Leases;

/// <summary>
/// A root <see cref="SafeSqlDataSource"/> on its own pool, with collected logs, leak reports and metrics (leases, leaks
/// and open failures). Disposing it disposes the factory and clears its SqlClient pool.
/// </summary>
internal sealed class FactoryHarness : IAsyncDisposable
{
    private readonly ConcurrentQueue<ConnectionLeakReport> _reports = new();
    private readonly SemaphoreSlim _reported = new(0);

    private readonly TimeProvider? _timeProvider;

    public FactoryHarness(
        string connectionString,
        Action<SqlConnectionLeakOptions>? configure = null,
        TimeProvider? timeProvider = null,
        Action<SqlOpenRetryOptions>? configureOpenRetry = null,
        [CallerMemberName] string name = "")
    {
        ConnectionString = connectionString;
        Name = $"{name}-{Guid.NewGuid():N}";
        Metrics = new MetricCollector(SafeSqlMetrics.MeterName);
        _timeProvider = timeProvider;
        var options = new SafeSqlOptions { ConnectionString = connectionString };
        configure?.Invoke(options.Leaks);
        configureOpenRetry?.Invoke(options.OpenRetry);
        var userCallback = options.Leaks.OnLeakDetected;
        options.Leaks.OnLeakDetected = report =>
        {
            _reports.Enqueue(report);
            _reported.Release();
            userCallback?.Invoke(report);
        };
        Factory = new SafeSqlDataSource(Name, options, Logs, metrics: null, timeProvider);
    }

    public string ConnectionString { get; }

    public string Name { get; }

    public SafeSqlDataSource Factory { get; }

    public CollectingLoggerProvider Logs { get; } = new();

    public MetricCollector Metrics { get; }

    /// <summary>The manual clock the harness was given (tests that move time pass one).</summary>
    public ManualTimeProvider Time => _timeProvider as ManualTimeProvider ?? throw new InvalidOperationException("This harness runs on the system clock; pass a ManualTimeProvider.");

    public IReadOnlyList<ConnectionLeakReport> Reports => [.. _reports];

    /// <summary>The measurements of one instrument for this harness's pool only (other tests share the meter name).</summary>
    public IReadOnlyList<CollectedMeasurement> MeasurementsOf(string instrument) =>
        [.. Metrics.For(instrument).Where(m => m.Tags.TryGetValue(SafeSqlMetrics.PoolNameTag, out var pool) && Equals(pool, Name))];

    /// <summary>The open failures counted for this harness's pool (<c>db.client.connection.safesql.failures</c>).</summary>
    public IReadOnlyList<CollectedMeasurement> Failures() => MeasurementsOf(SafeSqlMetrics.FailuresInstrumentName);

    public async Task<SqlConnection> OpenAsync(bool async) => async ? await Factory.OpenConnectionAsync() : Factory.OpenConnection();

    /// <summary>Waits (generously: the box is loaded) until at least <paramref name="count"/> reports arrived.</summary>
    public async Task<IReadOnlyList<ConnectionLeakReport>> WaitForReportsAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = TimeSpan.FromSeconds(30);
        using var cts = new CancellationTokenSource(timeout ?? deadline);
        while (_reports.Count < count)
        {
            await _reported.WaitAsync(cts.Token);
        }

        return Reports;
    }

    public async ValueTask DisposeAsync()
    {
        Factory.ClearPool();
        await Factory.DisposeAsync();
        Metrics.Dispose();
        _reported.Dispose();
    }
}

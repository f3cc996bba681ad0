using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

using SafeSql.Diagnostics;

namespace SafeSql.Tests.Leases;

/// <summary>
/// A root <see cref="SafeSqlDataSource"/> on its own pool, with collected logs (<see cref="FakeLogCollector"/>), leak
/// reports and metrics (one <see cref="MetricCollector{T}"/> per instrument of the factory's own meter). Disposing it
/// disposes the factory and clears its SqlClient pool.
/// </summary>
internal sealed class FactoryHarness : IAsyncDisposable
{
    private static readonly string[] s_longInstruments =
    [
        "db.client.connection.count",
        "db.client.connection.max",
        "db.client.connection.timeouts",
        "db.client.connection.safesql.leaks",
        SafeSqlMetricNames.Failures,
    ];

    private readonly ConcurrentQueue<SqlConnectionLeakReport> _reports = new();
    private readonly SemaphoreSlim _reported = new(0);
    private readonly Channel<bool> _logged = Channel.CreateUnbounded<bool>();
    private readonly LoggerFactory _loggerFactory;
    private readonly Dictionary<string, MetricCollector<long>> _counters;
    private readonly TimeProvider? _timeProvider;
    private int _retriesSeen;

    public FactoryHarness(
        string connectionString,
        Action<SqlConnectionLeakOptions>? configure = null,
        TimeProvider? timeProvider = null,
        Action<SafeSqlOptions>? configureOptions = null,
        [CallerMemberName] string name = "")
    {
        ConnectionString = connectionString;
        Name = $"{name}-{Guid.NewGuid():N}";
        _timeProvider = timeProvider;
        Logs = FakeLogCollector.Create(new FakeLogCollectorOptions { OutputSink = _ => _logged.Writer.TryWrite(true) });
        _loggerFactory = new LoggerFactory([new FakeLoggerProvider(Logs)]);
        var options = new SafeSqlOptions { ConnectionString = connectionString };
        configure?.Invoke(options.Leaks);
        configureOptions?.Invoke(options);
        var userCallback = options.Leaks.OnLeakDetected;
        options.Leaks.OnLeakDetected = report =>
        {
            _reports.Enqueue(report);
            _reported.Release();
            userCallback?.Invoke(report);
        };
        Factory = new SafeSqlDataSource(Name, options, _loggerFactory, metrics: null, timeProvider);

        // The factory owns its meter (no IMeterFactory), so these collectors see this harness's measurements only.
        _counters = s_longInstruments.ToDictionary(i => i, i => new MetricCollector<long>(Factory.Metrics.Meter, i));
        UseTime = new MetricCollector<double>(Factory.Metrics.Meter, "db.client.connection.use_time");
    }

    public string ConnectionString { get; }

    public string Name { get; }

    public SafeSqlDataSource Factory { get; }

    public FakeLogCollector Logs { get; }

    /// <summary>Gets the <c>db.client.connection.use_time</c> histogram's measurements (seconds).</summary>
    public MetricCollector<double> UseTime { get; }

    /// <summary>The fake clock the harness was given (tests that move time pass one).</summary>
    public FakeTimeProvider Time => _timeProvider as FakeTimeProvider ?? throw new InvalidOperationException("This harness runs on the system clock; pass a FakeTimeProvider.");

    public IReadOnlyList<SqlConnectionLeakReport> Reports => [.. _reports];

    /// <summary>The measurements of one <see cref="long"/> instrument (every instrument but use_time).</summary>
    public IReadOnlyList<CollectedMeasurement<long>> MeasurementsOf(string instrument) => _counters[instrument].GetMeasurementSnapshot();

    /// <summary>The open failures counted (<c>db.client.connection.safesql.failures</c>).</summary>
    public IReadOnlyList<CollectedMeasurement<long>> Failures() => MeasurementsOf(SafeSqlMetricNames.Failures);

    /// <summary>The tags of every measurement of every instrument.</summary>
    public IEnumerable<IReadOnlyDictionary<string, object?>> AllMeasurementTags() =>
        _counters.Values.SelectMany(c => c.GetMeasurementSnapshot().Select(m => m.Tags))
            .Concat(UseTime.GetMeasurementSnapshot().Select(m => m.Tags));

    /// <summary>Asks the observable instruments (count, max) to report now.</summary>
    public void RecordObservableInstruments()
    {
        _counters["db.client.connection.count"].RecordObservableInstruments();
        _counters["db.client.connection.max"].RecordObservableInstruments();
    }

    public async Task<SqlConnection> OpenAsync(bool async) => async ? await Factory.OpenConnectionAsync() : Factory.OpenConnection();

    /// <summary>
    /// Waits for the open pipeline's next retry announcement: the "retrying" record (3002) that Polly's OnRetry writes
    /// before the retry delay starts, and returns that delay. Woken by each log record, no polling.
    /// </summary>
    public async Task<TimeSpan> NextRetryAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var retries = Logs.GetSnapshot().Where(r => r.Id.Id == SafeSqlEventId.OpenRetrying).ToList();
            if (retries.Count > _retriesSeen)
            {
                var milliseconds = retries[_retriesSeen++].GetStructuredStateValue("RetryDelayMilliseconds");
                return TimeSpan.FromMilliseconds(long.Parse(milliseconds!, CultureInfo.InvariantCulture));
            }

            await _logged.Reader.ReadAsync(cancellationToken);
        }
    }

    /// <summary>Waits (generously: the box is loaded) until at least <paramref name="count"/> reports arrived.</summary>
    public async Task<IReadOnlyList<SqlConnectionLeakReport>> WaitForReportsAsync(int count, TimeSpan? timeout = null)
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
        foreach (var collector in _counters.Values)
        {
            collector.Dispose();
        }

        UseTime.Dispose();
        _loggerFactory.Dispose();
        _reported.Dispose();
    }
}

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace SafeSql.EntityFrameworkCore.Tests;

/// <summary>A data source on <see cref="OrdersDatabase"/> with its logs collected, and contexts configured with UseSafeSql.</summary>
public sealed class EfHarness : IAsyncDisposable
{
    private readonly ILoggerFactory _loggerFactory;

    private EfHarness(OrdersDatabase database, string connectionString, SqlRetryStrategyOptions? strategy, Action<string>? onLog)
    {
        Database = database;
        Logs = FakeLogCollector.Create(new FakeLogCollectorOptions { OutputSink = onLog ?? (static _ => { }) });
        _loggerFactory = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Debug).AddProvider(new FakeLoggerProvider(Logs)));
        var builder = new SafeSqlDataSourceBuilder(connectionString).UseLoggerFactory(_loggerFactory);
        builder.Options.Leaks.OnLeakDetected = report =>
        {
            lock (Leaks)
            {
                Leaks.Add(report);
            }
        };
        DataSource = builder.Build();
        Options = new DbContextOptionsBuilder<OrdersContext>()
            .UseSafeSql(DataSource, sql => sql.ExecutionStrategy(d => new SafeSqlExecutionStrategy(d, DataSource, strategy ?? Fast)))
            .Options;
    }

    /// <summary>The strategy's defaults with short backoff, so retries of transient server errors do not slow the tests.</summary>
    public static SqlRetryStrategyOptions Fast { get; } = new() { Delay = TimeSpan.FromMilliseconds(20), SocketExhaustionDelay = TimeSpan.FromMilliseconds(200) };

    public OrdersDatabase Database { get; }

    public SafeSqlDataSource DataSource { get; }

    public DbContextOptions<OrdersContext> Options { get; }

    public FakeLogCollector Logs { get; }

    public List<SqlConnectionLeakReport> Leaks { get; } = [];

    public static async Task<EfHarness> StartAsync(int? maxPoolSize = null, int? connectTimeout = null, SqlRetryStrategyOptions? strategy = null, Action<string>? onLog = null)
    {
        var database = await OrdersDatabase.StartAsync();
        return new EfHarness(database, database.ConnectionString(maxPoolSize, connectTimeout), strategy, onLog);
    }

    public OrdersContext CreateContext() => new(Options);

    /// <summary>The records of one SafeSql event id, in order.</summary>
    public IReadOnlyList<FakeLogRecord> Events(int eventId) => [.. Logs.GetSnapshot().Where(r => r.Id.Id == eventId)];

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        _loggerFactory.Dispose();
        await Database.DisposeAsync();
    }
}

using System.Diagnostics.Metrics;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

using SafeSql.Diagnostics;
using SafeSql.Testing;
using SafeSql.Tests.Leases;
using SafeSql.Tests.TestUtilities;

namespace SafeSql.Tests.Diagnostics;

/// <summary>
/// The pool instruments of the "SafeSql" meter as OpenTelemetry's database client conventions name them, measured through the
/// real SqlClient against the loopback server: pending requests and the used count read O(1) counters, wait and create time per
/// open, the pool name never empty nor a credential.
/// </summary>
[Trait(SqlClientPool.Trait, SqlClientPool.Sensitive)]
public sealed class SafeSqlPoolMetricsTests
{
    private const string PoolNameTag = "db.client.connection.pool.name";

    [Fact]
    public void Constructor_PoolInstruments_UseTheConventionsNamesAndUnits()
    {
        // Arrange
        using var metrics = new SafeSqlMetrics(null);
        var published = new Dictionary<string, (string? Unit, string Type)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (ReferenceEquals(instrument.Meter, metrics.Meter))
                {
                    published[instrument.Name] = (instrument.Unit, instrument.GetType().Name);
                }
            },
        };

        // Act
        listener.Start();

        // Assert: db.client.connection.* of semantic-conventions model/db/metrics.yaml.
        Assert.Equal(SafeSqlTelemetry.MeterName, metrics.Meter.Name);
        Assert.Equal(("{connection}", "ObservableUpDownCounter`1"), published["db.client.connection.count"]);
        Assert.Equal(("{connection}", "ObservableUpDownCounter`1"), published["db.client.connection.max"]);
        Assert.Equal(("{request}", "ObservableUpDownCounter`1"), published["db.client.connection.pending_requests"]);
        Assert.Equal(("{timeout}", "Counter`1"), published["db.client.connection.timeouts"]);
        Assert.Equal(("s", "Histogram`1"), published["db.client.connection.create_time"]);
        Assert.Equal(("s", "Histogram`1"), published["db.client.connection.wait_time"]);
        Assert.Equal(("s", "Histogram`1"), published["db.client.connection.use_time"]);
        Assert.Equal(("{leak}", "Counter`1"), published["db.client.connection.safesql.leaks"]);
    }

    [Fact]
    public async Task PendingRequests_TwoLeasesHeldOfMaxTwoAndFiveOpensStarted_ReadsFiveAndUsedTwo()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = new FactoryHarness(ConnectionString(server, maxPoolSize: 2));
        using var pending = new MetricCollector<long>(harness.Factory.Metrics.Meter, "db.client.connection.pending_requests");
        using var waitTime = new MetricCollector<double>(harness.Factory.Metrics.Meter, "db.client.connection.wait_time");
        using var createTime = new MetricCollector<double>(harness.Factory.Metrics.Meter, "db.client.connection.create_time");
        var first = await harness.Factory.OpenConnectionAsync();
        var second = await harness.Factory.OpenConnectionAsync();
        var loginsBefore = server.Counters.Logins;
        var waitsBefore = waitTime.GetMeasurementSnapshot().Count;
        var createsBefore = createTime.GetMeasurementSnapshot().Count;

        // Act: five opens wait inside SqlClient's full pool.
        using var waiting = new CancellationTokenSource();
        var opens = Enumerable.Range(0, 5).Select(_ => harness.Factory.OpenConnectionAsync(waiting.Token).AsTask()).ToList();
        pending.RecordObservableInstruments();
        harness.RecordObservableInstruments();
        var pendingWhileFull = pending.LastMeasurement!;
        var usedWhileFull = harness.MeasurementsOf("db.client.connection.count")[^1];
        await first.DisposeAsync();
        var served = await Task.WhenAny(opens);
        var connection = await served;

        // Assert
        Assert.Equal(5, pendingWhileFull.Value);
        Assert.Equal(harness.Name, pendingWhileFull.Tags[PoolNameTag]);
        Assert.Equal("microsoft.sql_server", pendingWhileFull.Tags["db.system.name"]);
        Assert.Equal(2, usedWhileFull.Value);
        Assert.Equal("used", usedWhileFull.Tags["db.client.connection.state"]);
        Assert.Equal(2, waitsBefore);
        Assert.Equal(2, createsBefore);
        Assert.Equal(waitsBefore + 1, waitTime.GetMeasurementSnapshot().Count);
        Assert.Equal(createsBefore, createTime.GetMeasurementSnapshot().Count);
        Assert.Equal(loginsBefore, server.Counters.Logins);
        pending.RecordObservableInstruments();
        Assert.Equal(4, pending.LastMeasurement!.Value);

        // The other four give up: pending and used return to zero.
        opens.Remove(served);
        await waiting.CancelAsync();
        foreach (var open in opens)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => open);
        }

        await connection.DisposeAsync();
        await second.DisposeAsync();
        pending.RecordObservableInstruments();
        harness.RecordObservableInstruments();
        Assert.Equal(0, pending.LastMeasurement!.Value);
        Assert.Equal(0, harness.MeasurementsOf("db.client.connection.count")[^1].Value);
        Assert.Equal(2, createTime.GetMeasurementSnapshot().Count);
        Assert.Equal(loginsBefore, server.Counters.Logins);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CreateTime_LoginDelayed200Milliseconds_RecordsAtLeastPointTwoSeconds(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.LoginDelay = TimeSpan.FromMilliseconds(200);
        await using var harness = new FactoryHarness(ConnectionString(server));
        using var createTime = new MetricCollector<double>(harness.Factory.Metrics.Meter, "db.client.connection.create_time");
        using var waitTime = new MetricCollector<double>(harness.Factory.Metrics.Meter, "db.client.connection.wait_time");

        // Act: the first open logs in (slow); the second reuses the pooled connection.
        await using (await harness.OpenAsync(async))
        {
        }

        await using (await harness.OpenAsync(async))
        {
        }

        // Assert
        var created = Assert.Single(createTime.GetMeasurementSnapshot());
        Assert.True(created.Value >= 0.2, $"create_time {created.Value} s, the login alone took 0.2 s");
        Assert.Equal(harness.Name, created.Tags[PoolNameTag]);
        Assert.Equal("microsoft.sql_server", created.Tags["db.system.name"]);
        Assert.Equal(2, waitTime.GetMeasurementSnapshot().Count);
        Assert.Equal(1, server.Counters.Logins);
    }

    [Fact]
    public async Task CreateTime_PhysicalConnectionFirstOpenedThroughCreateConnection_IsNotCountedWhenTheDataSourceReusesIt()
    {
        // Arrange: the caller opens (and logs in) a connection from CreateConnection, whose open the data source does not time.
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = new FactoryHarness(ConnectionString(server, maxPoolSize: 1));
        using var createTime = new MetricCollector<double>(harness.Factory.Metrics.Meter, "db.client.connection.create_time");
        await using (var created = harness.Factory.CreateConnection())
        {
            await created.OpenAsync();
        }

        // Act: the data source gets the same physical connection from the pool.
        await using (await harness.Factory.OpenConnectionAsync())
        {
        }

        // Assert
        Assert.Equal(1, server.Counters.Logins);
        Assert.Empty(createTime.GetMeasurementSnapshot());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UsedCount_LeasesEndEveryWay_ReturnsToZero(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = new FactoryHarness(ConnectionString(server, maxPoolSize: 10));
        var counts = new List<long>();
        void Read()
        {
            harness.RecordObservableInstruments();
            counts.Add(harness.MeasurementsOf("db.client.connection.count")[^1].Value);
        }

        // Act: disposed, closed, left to a scope's end, opened and closed by the caller (CreateConnection).
        var disposed = await harness.OpenAsync(async);
        var closed = await harness.OpenAsync(async);
        var scope = harness.Factory.CreateScope();
        _ = async ? await scope.OpenConnectionAsync() : scope.OpenConnection();
        await using var created = harness.Factory.CreateConnection();
        await created.OpenAsync();
        Read();
        await disposed.DisposeAsync();
        await closed.CloseAsync();
        Read();
        await scope.DisposeAsync();
        await created.CloseAsync();
        Read();

        // Assert
        Assert.Equal([4L, 2L, 0L], counts);
        Assert.Equal(0, harness.Factory.Tracker.LeasedCount);
    }

    [Theory]
    [InlineData("Password")]
    [InlineData("Pwd")]
    public async Task PoolName_DefaultInstanceWithAPassword_IsTheEndpointAndDatabaseAndNeverThePassword(string passwordKeyword)
    {
        // Arrange: the default instance (no name), the password under either keyword SqlClient accepts.
        await using var server = await LoopbackSqlServer.StartAsync();
        var builder = new SqlConnectionStringBuilder(ConnectionString(server)) { InitialCatalog = "orders" };
        builder.Remove("Password");
        var connectionString = $"{builder.ConnectionString};{passwordKeyword}={LoopbackSqlServerOptions.DefaultPassword}";
        await using var dataSource = new SafeSqlDataSource(string.Empty, new SafeSqlOptions { ConnectionString = connectionString });
        var tags = new List<KeyValuePair<string, object?>>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, dataSource.Metrics.Meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, measured, _) => { lock (tags) { tags.AddRange(measured.ToArray()); } });
        listener.SetMeasurementEventCallback<double>((_, _, measured, _) => { lock (tags) { tags.AddRange(measured.ToArray()); } });
        listener.Start();

        // Act
        await using (await dataSource.OpenConnectionAsync())
        {
            listener.RecordObservableInstruments();
        }

        // Assert: OpenTelemetry's fallback, server.address:server.port/db.namespace.
        var poolNames = tags.Where(t => t.Key == PoolNameTag).Select(t => t.Value).Distinct().ToList();
        Assert.Equal([$"{server.EndPoint.Address}:{server.Port}/orders"], poolNames);
        Assert.True(tags.Count >= 4, $"measured {tags.Count} tags");
        Assert.DoesNotContain(tags, t => t.Value?.ToString()?.Contains(LoopbackSqlServerOptions.DefaultPassword, StringComparison.Ordinal) == true);
    }

    /// <summary>A connection string with a pool of its own (a unique Application Name).</summary>
    internal static string ConnectionString(LoopbackSqlServer server, int? maxPoolSize = null)
    {
        var builder = new SqlConnectionStringBuilder(server.ConnectionString)
        {
            ApplicationName = $"SafeSql.Tests.{Guid.NewGuid():N}",
            ConnectTimeout = 60,
        };
        if (maxPoolSize is { } max)
        {
            builder.MaxPoolSize = max;
        }

        return builder.ConnectionString;
    }
}

using System.Diagnostics.Metrics;

using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;

using SafeSql.Diagnostics;
using SafeSql.Tests.Leases;

namespace SafeSql.Tests.Diagnostics;

public sealed class SafeSqlMetricsTests(LoopbackServerFixture fixture) : IClassFixture<LoopbackServerFixture>
{
    [Fact]
    public void Constructor_LeaseInstruments_UseOpenTelemetryNamesAndUnits()
    {
        // Arrange
        using var metrics = new SafeSqlMetrics(null);
        var published = new Dictionary<string, string?>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (ReferenceEquals(instrument.Meter, metrics.Meter))
                {
                    published[instrument.Name] = instrument.Unit;
                }
            },
        };

        // Act
        listener.Start();

        // Assert
        Assert.Equal("SafeSql", metrics.Meter.Name);
        Assert.Equal("{connection}", published["db.client.connection.count"]);
        Assert.Equal("{connection}", published["db.client.connection.max"]);
        Assert.Equal("s", published["db.client.connection.use_time"]);
        Assert.Equal("{timeout}", published["db.client.connection.timeouts"]);
        Assert.Equal("{leak}", published["db.client.connection.safesql.leaks"]);
    }

    [Fact]
    public async Task ObservableInstruments_TwoLeasesOpen_ReportUsedCountAndMaxPoolSize()
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString(maxPoolSize: 9));
        await using var first = harness.Factory.OpenConnection();
        await using var second = await harness.Factory.OpenConnectionAsync();

        // Act
        harness.RecordObservableInstruments();

        // Assert
        var used = Assert.Single(harness.MeasurementsOf("db.client.connection.count"));
        Assert.Equal(2, used.Value);
        Assert.Equal("used", used.Tags["db.client.connection.state"]);
        var max = Assert.Single(harness.MeasurementsOf("db.client.connection.max"));
        Assert.Equal(9, max.Value);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UseTime_ConnectionHeldTwoAndAHalfSeconds_RecordsSecondsTaggedWithThePool(bool async)
    {
        // Arrange
        var time = new FakeTimeProvider();
        await using var harness = new FactoryHarness(fixture.ConnectionString(), timeProvider: time);
        var connection = async ? await harness.Factory.OpenConnectionAsync() : harness.Factory.OpenConnection();
        time.Advance(TimeSpan.FromSeconds(2.5));

        // Act
        if (async)
        {
            await connection.DisposeAsync();
        }
        else
        {
            connection.Dispose();
        }

        // Assert
        var useTime = Assert.Single(harness.UseTime.GetMeasurementSnapshot());
        Assert.Equal(2.5, useTime.Value);
        Assert.Equal(harness.Name, useTime.Tags["db.client.connection.pool.name"]);
    }

    [Fact]
    public async Task Dispose_Factory_StopsReportingItsPool()
    {
        // Arrange: metrics shared with another factory, as in DI (one SafeSqlMetrics singleton), so they outlive the factory.
        using var shared = new SafeSqlMetrics(null);
        var name = $"disposed-{Guid.NewGuid():N}";
        var options = new SafeSqlOptions { ConnectionString = fixture.ConnectionString() };
        var factory = new SafeSqlDataSource(name, options, metrics: shared);
        var otherOptions = new SafeSqlOptions { ConnectionString = fixture.ConnectionString() + ";Application Name=other" }; // another pool
        await using var other = new SafeSqlDataSource($"other-{Guid.NewGuid():N}", otherOptions, metrics: shared);
        using var collector = new MetricCollector<long>(shared.Meter, "db.client.connection.count");
        collector.RecordObservableInstruments();
        Assert.Contains(collector.GetMeasurementSnapshot(), m => m.Tags.TryGetValue("db.client.connection.pool.name", out var pool) && Equals(pool, name));
        await factory.DisposeAsync();
        var before = collector.GetMeasurementSnapshot().Count;

        // Act
        collector.RecordObservableInstruments();

        // Assert: the shared instruments still report (the other factory), but no longer this pool.
        var after = collector.GetMeasurementSnapshot().Skip(before).ToList();
        Assert.Contains(after, m => m.Tags.TryGetValue("db.client.connection.pool.name", out var pool) && Equals(pool, other.Name));
        Assert.DoesNotContain(after, m => m.Tags.TryGetValue("db.client.connection.pool.name", out var pool) && Equals(pool, name));
    }
}

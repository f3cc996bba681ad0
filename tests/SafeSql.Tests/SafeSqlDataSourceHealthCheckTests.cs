using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

using SafeSql.Diagnostics;
using SafeSql.Testing;
using SafeSql.Tests.Leases;

namespace SafeSql.Tests;

public sealed class SafeSqlDataSourceHealthCheckTests(LoopbackServerFixture fixture) : IClassFixture<LoopbackServerFixture>
{
    [Fact]
    public async Task CheckHealthAsync_NothingLeasedAndServerUp_ReturnsHealthyWithPoolData()
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString(maxPoolSize: 5));
        var check = new SafeSqlDataSourceHealthCheck(harness.Factory);

        // Act
        var result = await check.CheckHealthAsync(Context(check));

        // Assert
        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal($"SafeSql pool '{harness.Name}': 0 of Max Pool Size=5 leased.", result.Description);
        Assert.Equal(harness.Name, result.Data["poolName"]);
        Assert.Equal(0, result.Data["leased"]);
        Assert.Equal(5, result.Data["maxPoolSize"]);
        Assert.Equal(0L, result.Data["leaksDetected"]);
        Assert.Equal(0L, result.Data["poolTimeouts"]);
    }

    [Fact]
    public async Task CheckHealthAsync_FourOfFiveLeased_ReturnsDegradedNamingTheOldestLease()
    {
        // Arrange
        var time = new FakeTimeProvider();
        await using var harness = new FactoryHarness(fixture.ConnectionString(maxPoolSize: 5), o => o.LeakDetectionThreshold = null, time);
        var held = Enumerable.Range(0, 4).Select(_ => harness.Factory.OpenConnection()).ToList();
        time.Advance(TimeSpan.FromSeconds(12));
        var check = new SafeSqlDataSourceHealthCheck(harness.Factory);

        // Act
        var result = await check.CheckHealthAsync(Context(check));

        // Assert
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.StartsWith($"SafeSql pool '{harness.Name}' is under pressure: 4 of Max Pool Size=5 leased; oldest SafeSqlDataSourceHealthCheckTests.cs:", result.Description, StringComparison.Ordinal);
        Assert.EndsWith("(CheckHealthAsync_FourOfFiveLeased_ReturnsDegradedNamingTheOldestLease), held 12 s.", result.Description, StringComparison.Ordinal);
        Assert.Equal(4, result.Data["leased"]);
        Assert.Equal(12.0, result.Data["oldestLeaseSeconds"]);
        foreach (var connection in held)
        {
            connection.Dispose();
        }
    }

    [Fact]
    public async Task CheckHealthAsync_LeakInTheLastFiveMinutes_ReturnsDegradedThenHealthyAfterTheWindow()
    {
        // Arrange
        var time = new FakeTimeProvider();
        await using var harness = new FactoryHarness(fixture.ConnectionString(), timeProvider: time);
        await using (var scope = harness.Factory.CreateScope())
        {
            scope.OpenConnection(); // leaked on purpose: the scope returns it and reports it
        }

        var check = new SafeSqlDataSourceHealthCheck(harness.Factory);

        // Act
        var recent = await check.CheckHealthAsync(Context(check));
        time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromTicks(1));
        var later = await check.CheckHealthAsync(Context(check));

        // Assert
        Assert.Equal(HealthStatus.Degraded, recent.Status);
        Assert.Equal(
            $"SafeSql pool '{harness.Name}' reported a connection leak in the last 5 minutes (1 since start); see the logs with event ids 2001-2007.",
            recent.Description);
        Assert.Equal(HealthStatus.Healthy, later.Status);
        Assert.Equal(1L, later.Data["leaksDetected"]);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(HealthStatus.Degraded)]
    public async Task CheckHealthAsync_LoginFails_ReturnsFailureStatusWithTheException(HealthStatus? failureStatus)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = 18456;
        var connectionString = new SqlConnectionStringBuilder(server.ConnectionString) { ApplicationName = $"SafeSql.Tests.{Guid.NewGuid():N}" }.ConnectionString;
        await using var harness = new FactoryHarness(connectionString);
        var check = new SafeSqlDataSourceHealthCheck(harness.Factory);

        // Act
        var result = await check.CheckHealthAsync(Context(check, failureStatus ?? HealthStatus.Unhealthy));

        // Assert
        Assert.Equal(failureStatus ?? HealthStatus.Unhealthy, result.Status);
        var error = Assert.IsType<SqlException>(result.Exception);
        Assert.Equal(18456, error.Number);
        Assert.Equal($"SafeSql pool '{harness.Name}': opening a connection failed: {error.Message}", result.Description);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CheckHealthAsync_ServerStopped_ReturnsUnhealthyWithoutTheRetryPipeline(bool pooling)
    {
        // Arrange: the factory's time never advances, so a probe that went through the open pipeline would wait for its
        // first retry delay forever; a probe without it fails as soon as the connect is refused.
        var time = new FakeTimeProvider();
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = new SqlConnectionStringBuilder(server.ConnectionString)
        {
            ApplicationName = $"SafeSql.Tests.{Guid.NewGuid():N}",
            Pooling = pooling,
        }.ConnectionString;
        var options = new SafeSqlOptions { ConnectionString = connectionString };
        options.ConnectionStringPolicy.AllowPoolingDisabled = !pooling;
        var logs = new FakeLogCollector();
        var name = $"health-{Guid.NewGuid():N}";
        using var loggerFactory = new LoggerFactory([new FakeLoggerProvider(logs)]);
        await using var factory = new SafeSqlDataSource(name, options, loggerFactory, metrics: null, time);
        await server.StopAsync();
        var check = new SafeSqlDataSourceHealthCheck(factory);

        // Act: the wait is generous (a loaded box); it is not what the test measures.
        var result = await check.CheckHealthAsync(Context(check)).WaitAsync(TimeSpan.FromSeconds(60));

        // Assert
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.IsType<SqlException>(result.Exception);
        Assert.StartsWith($"SafeSql pool '{name}': opening a connection failed: ", result.Description, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Id.Id is >= SafeSqlEventId.OpenAttemptFailed and <= SafeSqlEventId.SocketExhaustionDetected);
        Assert.Null(factory.LastOpenFailure);
    }

    [Fact]
    public async Task AddSafeSqlHealthCheck_RegisteredInDependencyInjection_ChecksTheNamedPool()
    {
        // Arrange
        var services = new ServiceCollection().AddLogging();
        services.AddSafeSql(fixture.ConnectionString(maxPoolSize: 3), name: "orders");
        services.AddHealthChecks().AddSafeSqlHealthCheck(name: "orders-db", tags: ["db"], dataSourceName: "orders");
        await using var provider = services.BuildServiceProvider();

        // Act
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        // Assert
        var entry = report.Entries["orders-db"];
        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal(["db"], entry.Tags);
        Assert.Equal("orders", entry.Data["poolName"]);
        Assert.Equal(3, entry.Data["maxPoolSize"]);
        provider.GetRequiredKeyedService<SafeSqlDataSource>("orders").ClearPool();
    }

    [Fact]
    public void AddSafeSqlHealthCheck_NullBuilder_ThrowsArgumentNullException()
    {
        // Act
        var exception = Assert.Throws<ArgumentNullException>(() => SafeSqlHealthChecksBuilderExtensions.AddSafeSqlHealthCheck(null!));

        // Assert
        Assert.Equal("builder", exception.ParamName);
    }

    private static HealthCheckContext Context(IHealthCheck check, HealthStatus failureStatus = HealthStatus.Unhealthy) =>
        new() { Registration = new HealthCheckRegistration("safesql", check, failureStatus, tags: null) };
}

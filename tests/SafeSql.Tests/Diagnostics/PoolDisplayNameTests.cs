using System.Diagnostics.Metrics;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

using SafeSql.Diagnostics;
using SafeSql.Testing;

namespace SafeSql.Tests.Diagnostics;

public sealed class PoolDisplayNameTests
{
    [Fact]
    public async Task DefaultInstance_LoginFails_EveryTextNamesTheDefaultPoolAndTheMetricTagNamesTheEndpoint()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = 18456;
        var connectionString = new SqlConnectionStringBuilder(server.ConnectionString) { ApplicationName = $"SafeSql.Tests.{Guid.NewGuid():N}" }.ConnectionString;
        var logs = new FakeLogCollector();
        var services = new ServiceCollection().AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Trace)).AddMetrics();
        services.AddSafeSql(connectionString);
        services.AddHealthChecks().AddSafeSqlHealthCheck();
        await using var provider = services.BuildServiceProvider();
        using var failures = new MetricCollector<long>(provider.GetRequiredService<IMeterFactory>(), SafeSqlTelemetry.MeterName, SafeSqlMetricNames.Failures);

        // Act
        await using (var scope = provider.CreateAsyncScope())
        {
            var factory = scope.ServiceProvider.GetRequiredService<ISqlConnectionFactory>();
            await Assert.ThrowsAsync<SqlException>(async () => await factory.OpenConnectionAsync());
        }

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        // Assert
        var accepted = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.ConnectionStringAccepted);
        Assert.StartsWith("SafeSql instance '(default)': ", accepted.Message, StringComparison.Ordinal);
        var attempt = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.OpenAttemptFailed);
        Assert.StartsWith("Opening a connection of pool '(default)' failed (attempt 1): AuthenticationFailure", attempt.Message, StringComparison.Ordinal);
        var failed = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.OpenFailed);
        Assert.StartsWith("Opening a connection of pool '(default)' failed with AuthenticationFailure after 1 attempt(s)", failed.Message, StringComparison.Ordinal);
        var entry = report.Entries["safesql"];
        Assert.StartsWith("SafeSql pool '(default)': opening a connection failed: ", entry.Description, StringComparison.Ordinal);
        Assert.Equal("(default)", entry.Data["poolName"]);
        var failure = Assert.Single(failures.GetMeasurementSnapshot());
        // OpenTelemetry's fallback for a pool without a name, server.address:server.port (no Initial Catalog here).
        Assert.Equal($"{server.EndPoint.Address}:{server.Port}", failure.Tags["db.client.connection.pool.name"]);
    }
}

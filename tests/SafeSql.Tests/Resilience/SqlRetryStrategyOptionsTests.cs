using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

using Polly;
using Polly.Telemetry;

using SafeSql.Diagnostics;
using SafeSql.Testing;

using static SafeSql.Tests.Classification.SqlFailureClassifierTests;

namespace SafeSql.Tests.Resilience;

/// <summary>
/// <see cref="SqlRetryStrategyOptions"/> as Polly's own options: defaults, validation, use with Polly's <c>AddRetry</c>, and
/// Polly's telemetry (<c>resilience.polly.*</c>) carrying SafeSql's failure kind for a real refused open.
/// </summary>
public sealed class SqlRetryStrategyOptionsTests
{
    [Fact]
    public void Constructor_Defaults_AreTheDocumentedValues()
    {
        // Act
        var options = new SqlRetryStrategyOptions();

        // Assert: Polly's settings, SafeSql's defaults.
        Assert.Equal("SafeSqlRetry", options.Name);
        Assert.Equal(3, options.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromSeconds(1), options.Delay);
        Assert.Equal(TimeSpan.FromSeconds(30), options.MaxDelay);
        Assert.Equal(DelayBackoffType.Exponential, options.BackoffType);
        Assert.True(options.UseJitter);
        Assert.NotNull(options.ShouldHandle);
        Assert.NotNull(options.DelayGenerator);
        Assert.Null(options.OnRetry);

        // SafeSql's settings.
        Assert.False(options.IsIdempotent);
        Assert.Equal(TimeSpan.FromSeconds(30), options.SocketExhaustionDelay);
        Assert.Equal(SqlRetryBehavior.Retry, options.ConnectionRefused);
        Assert.Equal(SqlRetryBehavior.Retry, options.ConnectTimeout);
        Assert.Equal(SqlRetryBehavior.Retry, options.ConnectionBroken);
        Assert.Equal(SqlRetryBehavior.Retry, options.TransientServerError);
        Assert.Equal(SqlRetryBehavior.Retry, options.NetworkUnreachable);
        Assert.Equal(SqlRetryBehavior.RetryOnceAfterLongDelay, options.SocketExhaustion);
        Assert.Equal(SqlRetryBehavior.Retry, options.CommandTimeout);
    }

    [Fact]
    public void SafeSqlOptionsValidator_OpenRetryOutOfRange_ReportsPollysAndSafeSqlsRanges()
    {
        // Arrange
        var options = new SafeSqlOptions { ConnectionString = "Data Source=tcp:127.0.0.1,1433" };
        options.OpenRetry!.MaxRetryAttempts = 0;
        options.OpenRetry.SocketExhaustionDelay = TimeSpan.FromSeconds(-1);
        options.OpenRetry.ConnectionRefused = (SqlRetryBehavior)7;

        // Act
        var result = new SafeSqlOptionsValidator().Validate("orders", options);

        // Assert
        Assert.True(result.Failed);
        Assert.Equal(
            """SocketExhaustionDelay: The field orders.OpenRetry.SocketExhaustionDelay must be between 00:00:00 and 00:10:00.; ConnectionRefused: The field orders.OpenRetry.ConnectionRefused is invalid.; MaxRetryAttempts: The field orders.OpenRetry.MaxRetryAttempts must be between 1 and 2147483647.""",
            result.FailureMessage);
    }

    [Fact]
    public void SafeSqlOptionsValidator_OpenRetryNull_IsValid()
    {
        // Arrange
        var options = new SafeSqlOptions { ConnectionString = "Data Source=tcp:127.0.0.1,1433", OpenRetry = null };

        // Act
        var result = new SafeSqlOptionsValidator().Validate("orders", options);

        // Assert
        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PollyAddRetry_RealRefusalThenServerBack_RetriesAndSucceeds(bool async)
    {
        // Arrange: the options straight into Polly's own AddRetry, no SafeSql extension method.
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => { b.ConnectTimeout = 2; b.Pooling = false; });
        await server.StopAsync();
        var recorder = new RetryRecorder { OnRetry = _ => server.RestartAsync().GetAwaiter().GetResult() };
        var pipeline = recorder.Builder()
            .AddRetry(new SqlRetryStrategyOptions { Delay = TimeSpan.FromMilliseconds(10) })
            .Build();

        // Act
        var attempts = 0;
        await pipeline.ExecuteAsync(async ct =>
        {
            attempts++;
            await using var connection = await OpenAsync(connectionString, async);
        });

        // Assert: the refusal was classified by SafeSql (its kind is in the context) and retried once.
        Assert.Equal(2, attempts);
        Assert.Equal(SqlFailureKind.ConnectionRefused, Assert.Single(recorder.Retries).Kind);
    }

    [Fact]
    public async Task PollyAddRetry_RealAuthenticationFailure_IsNotRetried()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = 18456;
        var connectionString = ConnectionString(server);
        var recorder = new RetryRecorder();
        var pipeline = recorder.Builder().AddRetry(new SqlRetryStrategyOptions { Delay = TimeSpan.Zero }).Build();

        // Act
        var exception = await CaptureAsync(() => pipeline.ExecuteAsync(async ct =>
        {
            await using var connection = await OpenAsync(connectionString, async: true);
        }).AsTask());

        // Assert: the original exception, one login.
        Assert.Equal(18456, Assert.IsType<SqlException>(exception).Number);
        Assert.Empty(recorder.Retries);
        Assert.Equal(1, server.Counters.FailedLogins);
    }

    [Fact]
    public async Task DataSourceOpen_RealRefusal_PollyTelemetryCarriesTheFailureKind()
    {
        // Arrange: a refused server, one retry so the run is short, no breaker (so SqlClient's own refusal reaches Polly) and a
        // budget that fits both attempts (each refusal costs most of Connect Timeout); Polly's meter is static ("Polly").
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => { b.ConnectTimeout = 2; b.PoolBlockingPeriod = PoolBlockingPeriod.NeverBlock; });
        await server.StopAsync();
        await using var dataSource = new SafeSqlDataSourceBuilder(connectionString)
        {
            Name = $"telemetry-{Guid.NewGuid():N}",
            Options = { OpenRetry = new SqlRetryStrategyOptions { MaxRetryAttempts = 1, Delay = TimeSpan.Zero }, CircuitBreaker = null, OpenTimeout = TimeSpan.FromSeconds(30) },
        }.Build();
        using var attempts = new MetricCollector<double>(null, "Polly", "resilience.polly.strategy.attempt.duration");
        using var events = new MetricCollector<int>(null, "Polly", "resilience.polly.strategy.events");

        // Act
        var exception = await CaptureAsync(() => dataSource.OpenConnectionAsync().AsTask());

        // Assert: two attempts, each tagged with SafeSql's pipeline, strategy, failure kind and error type.
        Assert.IsType<SqlException>(exception);
        var ours = attempts.GetMeasurementSnapshot().Where(m => Equals(m.Tags["pipeline.instance"], dataSource.Name)).ToList();
        Assert.Equal(2, ours.Count);
        Assert.All(ours, m =>
        {
            Assert.Equal("SafeSql", m.Tags["pipeline.name"]);
            Assert.Equal("SafeSqlRetry", m.Tags["strategy.name"]);
            Assert.Equal("connection_refused", m.Tags[SafeSqlMetrics.FailureKindTag]);
            Assert.Equal("0", m.Tags[SafeSqlMetrics.ErrorTypeTag]);
        });
        var retry = Assert.Single(events.GetMeasurementSnapshot(), m => Equals(m.Tags["pipeline.instance"], dataSource.Name) && Equals(m.Tags["event.name"], "OnRetry"));
        Assert.Equal("connection_refused", retry.Tags[SafeSqlMetrics.FailureKindTag]);
    }

    [Fact]
    public async Task MeteringEnricher_AttemptThatSucceeded_GetsNoFailureTags()
    {
        // Arrange: a pipeline of the user's own, with Polly's telemetry and SafeSql's enricher; the first attempt is refused.
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => { b.ConnectTimeout = 2; b.Pooling = false; });
        await server.StopAsync();
        var telemetry = new TelemetryOptions();
        telemetry.MeteringEnrichers.Add(SqlFailureMeteringEnricher.Instance);
        var recorder = new RetryRecorder { OnRetry = _ => server.RestartAsync().GetAwaiter().GetResult() };
        telemetry.TelemetryListeners.Add(recorder);
        var instance = Guid.NewGuid().ToString("N");
        var pipeline = new ResiliencePipelineBuilder { Name = "orders", InstanceName = instance }
            .AddSqlRetry(new SqlRetryStrategyOptions { Delay = TimeSpan.FromMilliseconds(10) }, connectionString)
            .ConfigureTelemetry(telemetry)
            .Build();
        using var attempts = new MetricCollector<double>(null, "Polly", "resilience.polly.strategy.attempt.duration");

        // Act
        await pipeline.ExecuteAsync(async ct =>
        {
            await using var connection = await OpenAsync(connectionString, async: true);
        });

        // Assert: the refused attempt carries the kind, the successful one does not.
        var ours = attempts.GetMeasurementSnapshot().Where(m => Equals(m.Tags["pipeline.instance"], instance)).ToList();
        Assert.Equal(2, ours.Count);
        Assert.Equal("connection_refused", ours[0].Tags[SafeSqlMetrics.FailureKindTag]);
        Assert.False(ours[1].Tags.ContainsKey(SafeSqlMetrics.FailureKindTag));
    }
}

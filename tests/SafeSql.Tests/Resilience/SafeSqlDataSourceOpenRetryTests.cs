using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Time.Testing;

using SafeSql.Diagnostics;
using SafeSql.Testing;
using SafeSql.Tests.Leases;
using SafeSql.Tests.TestUtilities;

using static SafeSql.Tests.Classification.SqlFailureClassifierTests;

namespace SafeSql.Tests.Resilience;

/// <summary>
/// The factory's default open pipeline (<c>CreateOpenPipeline</c>, built from <see cref="SafeSqlOptions.OpenRetry"/>), through
/// a root <see cref="SafeSqlDataSource"/> constructed directly, with collected logs and metrics and a manual clock.
/// </summary>
[Trait(SqlClientPool.Trait, SqlClientPool.Sensitive)]
public sealed partial class SafeSqlDataSourceOpenRetryTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_ServerRestartedMidRun_SucceedsWithoutTheCallerSeeingAnException(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = NewHarness(ConnectionString(server, b => { b.ConnectTimeout = 5; b.PoolBlockingPeriod = PoolBlockingPeriod.NeverBlock; }));
        await server.StopAsync();

        // Act: refused; the server comes back while the pipeline waits; the clock moves past the (≤1.2 s) delay.
        var open = async
            ? harness.Factory.OpenConnectionAsync().AsTask()
            : FakeTime.OnOwnThread(() => harness.Factory.OpenConnection());
        var delay = await FakeTime.WaitForRetryAsync(harness.NextRetryAsync, open);
        await server.RestartAsync();
        await FakeTime.RunToCompletionAsync(harness.Time, open, harness.NextRetryAsync, delay);
        await using var connection = await open;

        // Assert: the caller got an open connection; the refusal was logged, counted and retried once.
        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
        var failed = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.OpenAttemptFailed);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, failed.Level);
        Assert.StartsWith($"Opening a connection of pool '{harness.Name}' failed (attempt 1): ConnectionRefused, SQL error 0, socket error ConnectionRefused; will retry: True.", failed.Message, StringComparison.Ordinal);
        var retrying = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.OpenRetrying);
        Assert.Matches($@"^Retrying the open of pool '{harness.Name}' after ConnectionRefused in \d+ ms \(retry 1 of at most 3\)\.$", retrying.Message);
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.OpenFailed);
        var counted = Assert.Single(harness.Failures());
        Assert.Equal("connection_refused", counted.Tags[SafeSqlMetrics.FailureKindTag]);
        Assert.Equal("0", counted.Tags[SafeSqlMetrics.ErrorTypeTag]);
        Assert.Equal(1, server.Logins.Count(l => l.Succeeded));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_AuthenticationFailure_IsNotRetriedAndIsLoggedAndCounted(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = 18456;
        await using var harness = NewHarness(ConnectionString(server));

        // Act
        var exception = await CaptureAsync(async () => await harness.OpenAsync(async));

        // Assert: one login attempt; the original SqlException reached the caller.
        Assert.Equal(18456, Assert.IsType<SqlException>(exception).Number);
        Assert.Equal(1, server.Counters.FailedLogins);
        var failed = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.OpenFailed);
        Assert.Equal(
            $"""Opening a connection of pool '{harness.Name}' failed with AuthenticationFailure after 1 attempt(s), not retried: AuthenticationFailure is never retried. The original exception is rethrown.""",
            failed.Message);
        Assert.Equal("authentication_failure", Assert.Single(harness.Failures()).Tags[SafeSqlMetrics.FailureKindTag]);
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Message.Contains(LoopbackSqlServerOptions.DefaultPassword, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_RetriesDisabled_ClassifiesCountsAndRethrowsAtOnce(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = NewHarness(ConnectionString(server, b => b.ConnectTimeout = 1), o => o.OpenRetry = null);
        await server.StopAsync();

        // Act
        var exception = await CaptureAsync(async () => await harness.OpenAsync(async));

        // Assert
        Assert.Equal(0, Assert.IsType<SqlException>(exception).Number);
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.OpenRetrying);
        Assert.EndsWith("not retried: retries are disabled (OpenRetry is null). The original exception is rethrown.", Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.OpenFailed).Message, StringComparison.Ordinal);
        Assert.Equal("connection_refused", Assert.Single(harness.Failures()).Tags[SafeSqlMetrics.FailureKindTag]);
    }

    [Fact]
    public async Task OpenAsync_CallerCancels_IsNeitherLoggedNorCountedAsAFailure()
    {
        // Arrange: the login hangs (longer than the connect timeout is not needed: the caller gives up first).
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.LoginDelay = TimeSpan.FromSeconds(30);
        await using var harness = NewHarness(ConnectionString(server, b => b.ConnectTimeout = 60));
        using var cancellation = new CancellationTokenSource();

        // Act
        var open = harness.Factory.OpenConnectionAsync(cancellation.Token).AsTask();
        await WaitUntilAsync(() => server.Counters.TcpConnectionsAccepted > 0);
        cancellation.Cancel();
        var exception = await CaptureAsync(() => open);

        // Assert: the cancellation reached the caller; no 3000-3003 record and no failure measurement.
        Assert.IsAssignableFrom<OperationCanceledException>(exception);
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Id is SafeSqlEventId.OpenAttemptFailed or SafeSqlEventId.OpenFailed or SafeSqlEventId.OpenRetrying);
        Assert.Empty(harness.Failures());
        server.Faults.LoginDelay = TimeSpan.Zero;
    }

    [Fact]
    public async Task OpenAsync_DefaultOptionsAndPooling_FirstRetryWaitsThePoolBlockingPeriod()
    {
        // Arrange: without the circuit breaker, SqlClient's defaults (pooling, Pool Blocking Period=Auto, loopback is not Azure): failed opens block the pool 5 s.
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = NewHarness(ConnectionString(server, b => b.ConnectTimeout = 1), o => { o.OpenRetry!.MaxRetryAttempts = 1; o.CircuitBreaker = null; });
        await server.StopAsync();

        // Act
        var open = harness.Factory.OpenConnectionAsync().AsTask();
        await FakeTime.RunToCompletionAsync(harness.Time, open, harness.NextRetryAsync);
        await CaptureAsync(() => open);

        // Assert: 5 s × (1.02 to 1.10), not the 1 s backoff.
        var retrying = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.OpenRetrying);
        var delay = long.Parse(retrying.GetStructuredStateValue("RetryDelayMilliseconds")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(delay, 5100, 5500);
        Assert.True(harness.Factory.OpenRetryPolicy.PoolBlocking);
    }

    [Fact]
    public async Task OpenRetryObserver_SocketExhaustion_LogsTheProbeFiguresAndCountsIt()
    {
        // Arrange: a real refusal (2.1.4's exhaustion-shaped exception) classified with evidence of a full range.
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => b.ConnectTimeout = 1);
        await server.StopAsync();
        var exception = await CaptureOpenFailureAsync(connectionString, async: true);
        var failure = SqlFailureClassifier.Classify(exception, new SqlClassificationContext(SqlOperationPhase.Open, DataSource(server), null, new ExhaustedEvidence(server.EndPoint)));
        await using var harness = NewHarness(connectionString);

        // Act
        harness.Factory.OpenRetryPolicy.Observer!.OnFailure(failure, attemptNumber: 0, willRetry: true, reason: null);

        // Assert
        Assert.Equal(SqlFailureKind.SocketExhaustion, failure.Kind);
        var log = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.SocketExhaustionDetected);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Error, log.Level);
        Assert.Equal(
            $"""Ephemeral port exhaustion towards 127.0.0.1:{server.Port} (pool '{harness.Name}'): 50 of 50 ephemeral ports in use, 50 in TIME_WAIT. Enable connection pooling and dispose connections.""",
            log.Message);
        Assert.Equal("socket_exhaustion", Assert.Single(harness.Failures()).Tags[SafeSqlMetrics.FailureKindTag]);
    }

    /// <summary>A root factory on its own pool and a manual clock, its open pipeline configured by <paramref name="configure"/>.</summary>
    private static FactoryHarness NewHarness(string connectionString, Action<SafeSqlOptions>? configure = null) =>
        new(connectionString, timeProvider: new FakeTimeProvider(), configureOptions: configure, name: "open-pipeline");

    /// <summary>Polls <paramref name="condition"/> for at most 10 s (real time: the server runs on real sockets).</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), "The condition did not become true within 10 s.");
    }

}

using System.Diagnostics;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Diagnostics.HealthChecks;

using Polly.CircuitBreaker;

using SafeSql.Diagnostics;
using SafeSql.Testing;
using SafeSql.Tests.Leases;

using static SafeSql.Tests.Classification.SqlFailureClassifierTests;

namespace SafeSql.Tests.Resilience;

/// <summary>
/// The data source in an outage (<see cref="SafeSqlOptions.CircuitBreaker"/>, <see cref="SafeSqlOptions.OpenTimeout"/>): the real
/// SqlClient against the loopback server stopped and started again on the same port, on real time. Bounds on durations are
/// several times what the behaviour needs, so that a loaded machine passes; what is asserted is what the caller got and what
/// the server saw.
/// </summary>
public sealed class OutageTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ServerDown_BreakerOpensFailsOpensAtOnceWithoutConnectingAndClosesWhenTheServerAnswers(bool async)
    {
        // Arrange: one retry, a short Connect Timeout; the server is down.
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = NewHarness(ConnectionString(server, b => b.ConnectTimeout = 2), o => o.OpenRetry = new SqlRetryStrategyOptions { MaxRetryAttempts = 1, Delay = TimeSpan.FromMilliseconds(50) });
        await server.StopAsync();

        // Act 1: two whole opens fail (MinimumThroughput 2): the breaker opens.
        var first = await CaptureAsync(() => harness.OpenAsync(async));
        var second = await CaptureAsync(() => harness.OpenAsync(async));

        // Assert 1: real refusals reached the caller; the breaker is open, logged once as a Warning with the kind, counted.
        Assert.Equal(SqlFailureKind.ConnectionRefused, SqlFailureClassifier.Classify(first).Kind);
        Assert.Equal(SqlFailureKind.ConnectionRefused, SqlFailureClassifier.Classify(second).Kind);
        Assert.Equal(CircuitState.Open, harness.Factory.CircuitState);
        var opened = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.CircuitOpened);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, opened.Level);
        Assert.Contains("(ConnectionRefused)", opened.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(LoopbackSqlServerOptions.DefaultPassword, opened.Message, StringComparison.Ordinal);

        // Act 2: opens while the breaker is open.
        var probesBefore = harness.Factory.Probe!.Started;
        var failFast = new List<Exception>();
        for (var i = 0; i < 20; i++)
        {
            failFast.Add(await CaptureAsync(() => harness.OpenAsync(async)));
        }

        // Assert 2: each failed at once with the explained circuit-open exception (the real refusal inside), and no open
        // added a probe: the watcher probes on its own clock, one at a time.
        Assert.All(failFast, ex =>
        {
            var unavailable = Assert.IsType<SqlServerUnavailableException>(ex);
            Assert.Equal(SqlFailureKind.CircuitOpen, unavailable.Kind);
            Assert.Equal(SqlFailureKind.CircuitOpen, SqlFailureClassifier.Classify(unavailable).Kind);
            Assert.NotNull(unavailable.UnavailableSince);
            Assert.Contains("circuit breaker", unavailable.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(LoopbackSqlServerOptions.DefaultPassword, unavailable.Message, StringComparison.Ordinal);
        });
        Assert.InRange(harness.Factory.Probe.Started - probesBefore, 0, 20);

        // Act 3: the server comes back; the probe closes the breaker.
        await server.RestartAsync();
        await WaitUntilAsync(() => harness.Factory.CircuitState == CircuitState.Closed);
        await using var connection = await harness.OpenAsync(async);

        // Assert 3: served again; closing logged once (by the breaker's OnClosed, which Polly runs right after the state changes).
        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
        await WaitUntilAsync(() => harness.Logs.GetSnapshot().Any(r => r.Id.Id == SafeSqlEventId.CircuitClosed));
        Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.CircuitClosed);
        Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.CircuitOpened);
    }

    [Fact]
    public async Task ServerDown_HealthCheckIsUnhealthyWhileTheBreakerIsOpenWithoutOpeningAConnection()
    {
        // Arrange: the breaker opened on two failed opens.
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = NewHarness(ConnectionString(server, b => b.ConnectTimeout = 2), o => o.OpenRetry = null);
        await server.StopAsync();
        await CaptureAsync(() => harness.OpenAsync(async: true));
        await CaptureAsync(() => harness.OpenAsync(async: true));
        Assert.Equal(CircuitState.Open, harness.Factory.CircuitState);
        var check = new SafeSqlDataSourceHealthCheck(harness.Factory);
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration("sql", check, HealthStatus.Unhealthy, null) };

        // Act
        var result = await check.CheckHealthAsync(context);

        // Assert
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("circuit breaker is open", result.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AuthenticationFailures_NeverOpenTheBreaker(bool async)
    {
        // Arrange: every login is rejected (18456): the server is up; the caller's credentials are wrong.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = 18456;
        await using var harness = NewHarness(ConnectionString(server, b => b.ConnectTimeout = 2));

        // Act
        for (var i = 0; i < 4; i++)
        {
            var exception = await CaptureAsync(() => harness.OpenAsync(async));
            Assert.Equal(18456, Assert.IsType<SqlException>(exception).Number);
        }

        // Assert
        Assert.Equal(CircuitState.Closed, harness.Factory.CircuitState);
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.CircuitOpened);
    }

    [Fact]
    public async Task OpenAsync_EndpointRefuses_EndsAtOnceInsteadOfWaitingOutConnectTimeout()
    {
        // Arrange: Connect Timeout=20: on Linux, SqlClient 6.1+ waits about 18 s for a refused connect.
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = NewHarness(ConnectionString(server, b => b.ConnectTimeout = 20), o => o.OpenRetry = null);
        await server.StopAsync();
        var clock = Stopwatch.StartNew();

        // Act
        var exception = await CaptureAsync(() => harness.OpenAsync(async: true));

        // Assert: the probe's refusal ended it, classified; far sooner than SqlClient's own wait.
        var unavailable = Assert.IsType<SqlServerUnavailableException>(exception);
        Assert.Equal(SqlFailureKind.ConnectionRefused, unavailable.Kind);
        Assert.Equal(SqlFailureKind.ConnectionRefused, SqlFailureClassifier.Classify(unavailable).Kind);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"The open took {clock.Elapsed}.");
        Assert.True(harness.Factory.Probe!.Started >= 1);
    }

    [Fact]
    public async Task OpenAsync_TransientErrorsBeyondTheBudget_StopAtTheBudgetWithTheOriginalException()
    {
        // Arrange: every login fails with 40613 (transient, retried); 5 retries at 1 s doubling would take 31 s.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = 40613;
        await using var harness = NewHarness(
            ConnectionString(server, b => b.ConnectTimeout = 2),
            o =>
            {
                o.OpenTimeout = TimeSpan.FromSeconds(2);
                o.OpenRetry = new SqlRetryStrategyOptions { MaxRetryAttempts = 5, UseJitter = false };
            });
        var clock = Stopwatch.StartNew();

        // Act
        var exception = await CaptureAsync(() => harness.OpenAsync(async: true));

        // Assert: the real 40613 reached the caller once the budget was spent, well before the retries would have ended;
        // giving up was logged with the budget as its reason.
        Assert.Equal(40613, Assert.IsType<SqlException>(exception).Number);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"The open took {clock.Elapsed}.");
        var failed = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.OpenFailed);
        Assert.Contains("time budget of 2000 ms", failed.Message, StringComparison.Ordinal);
        Assert.InRange(server.Logins.Count, 1, 3);
    }

    [Theory]
    [InlineData(null, "NeverBlock")]
    [InlineData(PoolBlockingPeriod.AlwaysBlock, "AlwaysBlock")]
    public async Task BreakerOn_PoolBlockingPeriodIsNeverBlockUnlessTheStringSetsIt(PoolBlockingPeriod? set, string expected)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b =>
        {
            if (set is { } value)
            {
                b.PoolBlockingPeriod = value;
            }
        });

        // Act
        await using var on = NewHarness(connectionString);
        await using var off = NewHarness(connectionString, o => o.CircuitBreaker = null);

        // Assert
        Assert.Equal(expected, new SqlConnectionStringBuilder(on.Factory.ConnectionString).PoolBlockingPeriod.ToString());
        Assert.Equal(set ?? PoolBlockingPeriod.Auto, new SqlConnectionStringBuilder(off.Factory.ConnectionString).PoolBlockingPeriod);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ServerRestarted_PooledConnectionsAreClearedSoNoCallerMeetsADeadOne(bool async)
    {
        // Arrange: three connections leased (as under load) when the server restarts; SqlClient's idle-connection recovery off
        // (Connect Retry Count=0), so a dead connection handed out again by the pool fails its first command.
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = NewHarness(ConnectionString(server, b => { b.ConnectTimeout = 2; b.ConnectRetryCount = 0; }), o => o.OpenRetry = null);
        var leased = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => harness.OpenAsync(async: true)));

        // Act: the server goes down; a fourth open is refused; the leased connections come back to the pool; the server is
        // back; callers open and query.
        await server.StopAsync();
        await CaptureAsync(() => harness.OpenAsync(async));
        foreach (var connection in leased)
        {
            await connection.DisposeAsync();
        }

        await server.RestartAsync();
        var results = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            await using var connection = await harness.OpenAsync(async);
            using var command = new SqlCommand("SELECT 1", connection);
            results.Add((int)(async ? (await command.ExecuteScalarAsync())! : command.ExecuteScalar()!));
        }

        // Assert: every caller was served by a live connection, none met one of the three the restart killed (SqlClient checks
        // a pooled connection's socket before handing it out and discards the dead ones, so SafeSql does not clear the pool).
        Assert.Equal([1, 1, 1], results);
    }

    [Fact]
    public async Task OpenAsync_FailedAttempts_EachLogsOneExplainedWarningAndPollyLogsNoneAboveDebug()
    {
        // Arrange: a refused server, one retry within a budget that fits it, no breaker (SqlClient's own refusal).
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = NewHarness(
            ConnectionString(server, b => b.ConnectTimeout = 2),
            o =>
            {
                o.CircuitBreaker = null;
                o.OpenTimeout = TimeSpan.FromSeconds(30);
                o.OpenRetry = new SqlRetryStrategyOptions { MaxRetryAttempts = 1, Delay = TimeSpan.FromMilliseconds(10) };
            });
        await server.StopAsync();

        // Act
        await CaptureAsync(() => harness.OpenAsync(async: true));

        // Assert: two failed attempts, two Warnings (SafeSql's 3000, with the explanation); Polly's events below Warning.
        var warnings = harness.Logs.GetSnapshot().Where(r => r.Level == Microsoft.Extensions.Logging.LogLevel.Warning).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, w => Assert.Equal(SafeSqlEventId.OpenAttemptFailed, w.Id.Id));
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Category == "Polly" && r.Level > Microsoft.Extensions.Logging.LogLevel.Debug);
    }

    [Fact]
    public async Task PoolTimeoutsOfAPoolNotFull_OpenTheBreakerWhichClosesAsSoonAsTheServerAnswers()
    {
        // Arrange: Max Pool Size=1, its one connection held outside SafeSql, so opens queue in SqlClient's pool and time out
        // although nothing is leased through SafeSql: what opens queued behind a connection being created towards a silent
        // server see. No retry, so each open is one pool timeout.
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = NewHarness(ConnectionString(server, b => { b.ConnectTimeout = 1; b.MaxPoolSize = 1; }), o => o.OpenRetry = null);
        await using var holder = new SqlConnection(harness.Factory.ConnectionStringWithPassword);
        await holder.OpenAsync();

        // Act
        for (var i = 0; i < 2; i++)
        {
            var exception = await CaptureAsync(() => harness.OpenAsync(async: true));
            Assert.Equal(SqlFailureKind.PoolTimeout, SqlFailureClassifier.Classify(exception).Kind);
            Assert.True(SqlFailureClassifier.Classify(exception).IsTransient, exception.ToString());
        }

        // Assert: the breaker opened on the two pool timeouts; the server answers the probe, so it closed again.
        Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.CircuitOpened);
        await WaitUntilAsync(() => harness.Logs.GetSnapshot().Any(r => r.Id.Id == SafeSqlEventId.CircuitClosed));
        Assert.Equal(CircuitState.Closed, harness.Factory.CircuitState);
    }

    /// <summary>A root data source on its own pool, on real time.</summary>
    private static FactoryHarness NewHarness(string connectionString, Action<SafeSqlOptions>? configure = null) =>
        new(connectionString, configureOptions: configure, name: "breaker");

    private static async Task<Exception> CaptureAsync(Func<Task<SqlConnection>> open)
    {
        try
        {
            await (await open()).DisposeAsync();
        }
        catch (Exception ex)
        {
            return ex;
        }

        throw new Xunit.Sdk.XunitException("The open succeeded.");
    }

    /// <summary>Polls <paramref name="condition"/> for at most 20 s.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), "The condition did not become true within 20 s.");
    }
}

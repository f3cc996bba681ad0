using System.ComponentModel.DataAnnotations;
using System.Net.Sockets;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Time.Testing;

using Polly;

using SafeSql.Diagnostics;
using SafeSql.Testing;

using static SafeSql.Tests.Classification.SqlFailureClassifierTests;

namespace SafeSql.Tests.Resilience;

/// <summary>
/// SafeSql's Polly retries around the real client: what is retried, how long it waits (on a manual clock), and that the
/// original exception comes out untouched. Each test has a loopback server and a SqlClient pool of its own.
/// </summary>
public sealed class SafeSqlResiliencePipelineBuilderExtensionsTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddSqlOpenRetry_ServerRestartedMidRun_OpenSucceedsWithoutTheCallerSeeingAnException(bool async)
    {
        // Arrange: the server is down when the open starts (NeverBlock: no pool blocking period, see the docs).
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => { b.ConnectTimeout = 5; b.PoolBlockingPeriod = PoolBlockingPeriod.NeverBlock; });
        await server.StopAsync();
        var time = new FakeTimeProvider();
        var recorder = new RetryRecorder();
        var pipeline = recorder.Builder<SqlConnection>(time).AddSqlOpenRetry(new SqlRetryStrategyOptions(), connectionString).Build();

        // Act: the first attempt is refused; while Polly waits, the server comes back; then the clock moves on.
        var open = async
            ? pipeline.ExecuteAsync(async ct => await OpenAsync(connectionString, async: true)).AsTask()
            : FakeTime.OnOwnThread(() => pipeline.Execute(() => OpenAsync(connectionString, async: false).GetAwaiter().GetResult()));
        var delay = await FakeTime.WaitForRetryAsync(recorder.NextRetryAsync, open);
        await server.RestartAsync();
        await FakeTime.RunToCompletionAsync(time, open, recorder.NextRetryAsync, delay);
        await using var connection = await open;

        // Assert
        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
        var retry = Assert.Single(recorder.Retries);
        Assert.Equal(SqlFailureKind.ConnectionRefused, retry.Kind);
        Assert.InRange(retry.Delay, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(30)); // Polly's jittered backoff around Delay (1 s), within MaxDelay
        Assert.Equal(1, server.Logins.Count(l => l.Succeeded));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddSqlOpenRetry_AuthenticationFailure_DoesNotRetry(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = 18456;
        var connectionString = ConnectionString(server);
        var recorder = new RetryRecorder();
        var pipeline = recorder.Builder().AddSqlOpenRetry(new SqlRetryStrategyOptions(), connectionString).Build();

        // Act
        var exception = await CaptureAsync(() => ExecuteOpenAsync(pipeline, connectionString, async));

        // Assert: one login reached the server; nothing was retried.
        Assert.Equal(18456, Assert.IsType<SqlException>(exception).Number);
        Assert.Empty(recorder.Retries);
        Assert.Equal(1, server.Counters.FailedLogins);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddSqlRetry_SyntaxError_DoesNotRetryEvenWhenIdempotent(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server);
        var recorder = new RetryRecorder();
        var pipeline = recorder.Builder().AddSqlRetry(new SqlRetryStrategyOptions { IsIdempotent = true, Delay = TimeSpan.Zero }, connectionString).Build();

        // Act
        var exception = await CaptureAsync(() => ExecuteCommandAsync(pipeline, connectionString, "SELEC 1", async));

        // Assert
        Assert.Equal(102, Assert.IsType<SqlException>(exception).Number);
        Assert.Empty(recorder.Retries);
        Assert.Equal(1, server.Counters.Batches);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddSqlOpenRetry_RetriesGiveUp_RethrowsTheOriginalExceptionInstance(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => { b.ConnectTimeout = 1; b.PoolBlockingPeriod = PoolBlockingPeriod.NeverBlock; });
        await server.StopAsync();
        var time = new FakeTimeProvider();
        var recorder = new RetryRecorder();
        var pipeline = recorder.Builder(time).AddSqlOpenRetry(new SqlRetryStrategyOptions { MaxRetryAttempts = 2 }, connectionString).Build();
        var attempts = new List<Exception>();

        void Attempt()
        {
            try
            {
                using var connection = OpenAsync(connectionString, async).GetAwaiter().GetResult();
            }
            catch (Exception ex)
            {
                attempts.Add(ex);
                throw;
            }
        }

        // Act
        var run = async
            ? pipeline.ExecuteAsync(_ => { Attempt(); return ValueTask.CompletedTask; }).AsTask()
            : FakeTime.OnOwnThread(() => { pipeline.Execute(Attempt); return true; });
        await FakeTime.RunToCompletionAsync(time, run, recorder.NextRetryAsync);
        var thrown = await CaptureAsync(() => run);

        // Assert: 3 attempts; what the caller sees is the last attempt's exception itself, Number and stack intact.
        Assert.Equal(3, attempts.Count);
        Assert.Same(attempts[^1], thrown);
        var sql = Assert.IsType<SqlException>(thrown);
        Assert.Equal(0, sql.Number);
        Assert.StartsWith("   at Microsoft.Data.", sql.StackTrace, StringComparison.Ordinal); // SqlClient's own frames come first
        Assert.Equal(2, recorder.Retries.Count);
    }

    [Fact]
    public async Task AddSqlOpenRetry_ConnectionRefused_WaitsPollysOwnBackoff()
    {
        // Arrange: no pool blocking period (NeverBlock), so SafeSql leaves the delay to Polly: Delay x 2^n, capped by MaxDelay
        // (jitter off, so the schedule is exact).
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => { b.ConnectTimeout = 3; b.PoolBlockingPeriod = PoolBlockingPeriod.NeverBlock; });
        await server.StopAsync();
        var time = new FakeTimeProvider();
        var recorder = new RetryRecorder();
        var options = new SqlRetryStrategyOptions { MaxRetryAttempts = 3, Delay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(3), UseJitter = false };
        var pipeline = recorder.Builder(time).AddSqlOpenRetry(options, connectionString).Build();

        // Act
        var run = pipeline.ExecuteAsync(async ct => await OpenAsync(connectionString, async: true)).AsTask();
        await FakeTime.RunToCompletionAsync(time, run, recorder.NextRetryAsync);
        await CaptureAsync(() => run);

        // Assert
        Assert.Equal([0, 1, 2], recorder.Retries.Select(r => r.AttemptNumber));
        Assert.All(recorder.Retries, r => Assert.Equal(SqlFailureKind.ConnectionRefused, r.Kind));
        Assert.Equal([1000.0, 2000.0, 3000.0], recorder.Retries.Select(r => r.Delay.TotalMilliseconds)); // 4 s capped by MaxDelay
    }

    [Fact]
    public async Task AddSqlOpenRetry_PoolBlockingPeriodActive_NeverRetriesInsideIt()
    {
        // Arrange: SqlClient's defaults (pooling, Pool Blocking Period=Auto towards a non-Azure server): blocking is on.
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => b.ConnectTimeout = 1);
        await server.StopAsync();
        var time = new FakeTimeProvider();
        var recorder = new RetryRecorder();
        var pipeline = recorder.Builder(time).AddSqlOpenRetry(new SqlRetryStrategyOptions { MaxRetryAttempts = 3 }, connectionString).Build();

        // Act
        var run = pipeline.ExecuteAsync(async ct => await OpenAsync(connectionString, async: true)).AsTask();
        await FakeTime.RunToCompletionAsync(time, run, recorder.NextRetryAsync);
        await CaptureAsync(() => run);

        // Assert: at least 5 s, 10 s, 20 s (the pool's blocking period after the 1st, 2nd and 3rd failure), though the backoff alone would be ~1, 2, 4 s.
        Assert.Equal(3, recorder.Retries.Count);
        Assert.InRange(recorder.Retries[0].Delay.TotalSeconds, 5.1, 5.5);
        Assert.InRange(recorder.Retries[1].Delay.TotalSeconds, 10.2, 11);
        Assert.InRange(recorder.Retries[2].Delay.TotalSeconds, 20.4, 22);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddSqlOpenRetry_Login40613ThenAvailable_RetriesAndSucceeds(bool async)
    {
        // Arrange: Azure's "database not currently available" on the first login only.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = 40613;
        var connectionString = ConnectionString(server, b => b.PoolBlockingPeriod = PoolBlockingPeriod.NeverBlock);
        var recorder = new RetryRecorder { OnRetry = _ => server.Faults.FailLoginsWithError = null };
        var pipeline = recorder.Builder<SqlConnection>().AddSqlOpenRetry(new SqlRetryStrategyOptions { Delay = TimeSpan.Zero }, connectionString).Build();

        // Act
        await using var connection = async
            ? await pipeline.ExecuteAsync(async ct => await OpenAsync(connectionString, async: true))
            : pipeline.Execute(() => OpenAsync(connectionString, async: false).GetAwaiter().GetResult());

        // Assert
        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
        Assert.Equal(SqlFailureKind.TransientServerError, Assert.Single(recorder.Retries).Kind);
        Assert.Equal(1, server.Counters.FailedLogins);
        Assert.Equal(1, server.Logins.Count(l => l.Succeeded));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddSqlRetry_CommandTimeoutNotIdempotent_DoesNotRetry(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server);
        var recorder = new RetryRecorder();
        var pipeline = recorder.Builder().AddSqlRetry(new SqlRetryStrategyOptions { Delay = TimeSpan.Zero }, connectionString).Build();

        // Act
        var exception = await CaptureAsync(() => ExecuteCommandAsync(pipeline, connectionString, "WAITFOR DELAY '00:00:05'", async, commandTimeout: 1));

        // Assert: the command may have executed, so it ran once.
        Assert.Equal(-2, Assert.IsType<SqlException>(exception).Number);
        Assert.Empty(recorder.Retries);
        Assert.Equal(1, server.Counters.Batches);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddSqlRetry_CommandTimeoutIdempotent_RetriesIt(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server);
        var recorder = new RetryRecorder();
        var options = new SqlRetryStrategyOptions { IsIdempotent = true, MaxRetryAttempts = 1, Delay = TimeSpan.Zero };
        var pipeline = recorder.Builder().AddSqlRetry(options, connectionString).Build();

        // Act
        var exception = await CaptureAsync(() => ExecuteCommandAsync(pipeline, connectionString, "WAITFOR DELAY '00:00:05'", async, commandTimeout: 1));

        // Assert
        Assert.Equal(-2, Assert.IsType<SqlException>(exception).Number);
        Assert.Equal(SqlFailureKind.CommandTimeout, Assert.Single(recorder.Retries).Kind);
        Assert.Equal(2, server.Counters.Batches);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task AddSqlRetry_DeadlockOnce_RetriedOnlyWhenIdempotent(bool async, bool idempotent)
    {
        // Arrange: the first batch is chosen as a deadlock victim (1205), the next succeeds.
        await using var server = await LoopbackSqlServer.StartAsync();
        var deadlocks = 0;
        server.BatchHandler = request => request.Sql.Contains("UPDATE", StringComparison.Ordinal) && Interlocked.Increment(ref deadlocks) == 1
            ? LoopbackResponse.Error(1205, 13, 51, "Transaction (Process ID 51) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.")
            : request.Sql.Contains("UPDATE", StringComparison.Ordinal) ? LoopbackResponse.RowsAffected(1) : null;
        var connectionString = ConnectionString(server);
        var recorder = new RetryRecorder();
        var options = new SqlRetryStrategyOptions { IsIdempotent = idempotent, Delay = TimeSpan.Zero };
        var pipeline = recorder.Builder().AddSqlRetry(options, connectionString).Build();

        // Act
        var run = ExecuteCommandAsync(pipeline, connectionString, "UPDATE Orders SET Total = 1", async);

        // Assert
        if (idempotent)
        {
            await run;
            Assert.Equal(SqlFailureKind.TransientServerError, Assert.Single(recorder.Retries).Kind);
            Assert.Equal(2, server.Counters.Batches);
        }
        else
        {
            Assert.Equal(1205, Assert.IsType<SqlException>(await CaptureAsync(() => run)).Number);
            Assert.Empty(recorder.Retries);
            Assert.Equal(1, server.Counters.Batches);
        }
    }

    [Fact]
    public async Task AddSqlRetry_SocketExhaustion_RetriesOnceAfterTheLongDelay()
    {
        // Arrange: a real refusal (SqlClient 2.1.4's exhaustion-shaped exception), with operating-system evidence of a full range.
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => { b.ConnectTimeout = 1; b.PoolBlockingPeriod = PoolBlockingPeriod.NeverBlock; });
        await server.StopAsync();
        var evidence = new ExhaustedEvidence(server.EndPoint);
        var options = new SqlRetryStrategyOptions { MaxRetryAttempts = 3 };
        var policy = new SqlRetryPolicy(options, SqlOperationPhase.Open, connectionString, evidence: evidence);
        var time = new FakeTimeProvider();
        var recorder = new RetryRecorder();
        var pipeline = recorder.Builder(time).AddSqlRetry(options, policy).Build();
        var attempts = 0;

        // Act
        var run = pipeline.ExecuteAsync(async ct =>
        {
            attempts++;
            await using var connection = await OpenAsync(connectionString, async: true);
        }).AsTask();
        await FakeTime.RunToCompletionAsync(time, run, recorder.NextRetryAsync);
        var exception = await CaptureAsync(() => run);

        // Assert: one retry, after SocketExhaustionDelay (30 s ±20 %), then the original exception.
        Assert.IsType<SqlException>(exception);
        Assert.Equal(2, attempts);
        var retry = Assert.Single(recorder.Retries);
        Assert.Equal(SqlFailureKind.SocketExhaustion, retry.Kind);
        Assert.InRange(retry.Delay.TotalSeconds, 24, 36);
    }

    [Fact]
    public void AddSqlOpenRetry_NullArguments_ThrowArgumentNullException()
    {
        // Act / Assert
        Assert.Equal("builder", Assert.Throws<ArgumentNullException>(() => SafeSqlResiliencePipelineBuilderExtensions.AddSqlOpenRetry(null!, new SqlRetryStrategyOptions())).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentNullException>(() => new ResiliencePipelineBuilder().AddSqlOpenRetry(null!)).ParamName);
        Assert.Equal("builder", Assert.Throws<ArgumentNullException>(() => SafeSqlResiliencePipelineBuilderExtensions.AddSqlRetry(null!, new SqlRetryStrategyOptions())).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentNullException>(() => new ResiliencePipelineBuilder<int>().AddSqlRetry(null!)).ParamName);
    }

    [Fact]
    public void AddSqlOpenRetry_MaxRetryAttemptsOutOfRange_ThrowsValidationException()
    {
        // Arrange
        var options = new SqlRetryStrategyOptions { MaxRetryAttempts = 0 };

        // Act
        var exception = Assert.Throws<ValidationException>(() => new ResiliencePipelineBuilder().AddSqlOpenRetry(options));

        // Assert
        Assert.Equal("""The field MaxRetryAttempts must be between 1 and 2147483647.""", exception.Message);
    }

    [Fact]
    public void AddSqlRetry_SocketExhaustionDelayOutOfRange_ThrowsValidationException()
    {
        // Arrange
        var options = new SqlRetryStrategyOptions { SocketExhaustionDelay = TimeSpan.FromMinutes(11) };

        // Act
        var exception = Assert.Throws<ValidationException>(() => new ResiliencePipelineBuilder().AddSqlRetry(options));

        // Assert
        Assert.Equal("""The field SocketExhaustionDelay must be between 00:00:00 and 00:10:00.""", exception.Message);
    }

    [Theory]
    [InlineData("Password")]
    [InlineData("Pwd")]
    [InlineData("password")]
    public void AddSqlRetry_UnquotedPasswordWithSemicolon_ThrowsWithoutAFragmentOfThePassword(string keyword)
    {
        // Arrange: SqlClient reads "Pa55;Xq7w=9zK" as the password "Pa55" and an unknown keyword "Xq7w" ("Keyword not supported: 'xq7w'").
        var connectionString = $"Data Source=tcp:127.0.0.1,1433;User ID=sa;{keyword}=Pa55;Xq7w=9zK;Encrypt=False";
        Action[] calls =
        [
            () => new ResiliencePipelineBuilder().AddSqlOpenRetry(new SqlRetryStrategyOptions(), connectionString),
            () => new ResiliencePipelineBuilder<SqlConnection>().AddSqlOpenRetry(new SqlRetryStrategyOptions(), connectionString),
            () => new ResiliencePipelineBuilder().AddSqlRetry(new SqlRetryStrategyOptions(), connectionString),
            () => new ResiliencePipelineBuilder<int>().AddSqlRetry(new SqlRetryStrategyOptions(), connectionString),
        ];

        foreach (var call in calls)
        {
            // Act
            var exception = Assert.Throws<ArgumentException>(call);

            // Assert: SafeSql's fixed text, nothing of SqlClient's message, no inner exception that would carry it.
            Assert.Equal(
                """The connection string cannot be parsed by SqlConnectionStringBuilder (a value containing ';' or '=' must be quoted). SqlClient's message is not shown because it can quote part of a password. Run SqlConnectionStringPolicy.Validate on the connection string for the rule that fails. (Parameter 'connectionString')""",
                exception.Message);
            Assert.Equal("connectionString", exception.ParamName);
            Assert.Null(exception.InnerException);
            Assert.False(exception.ToString().Contains("xq7w", StringComparison.OrdinalIgnoreCase), "The exception quotes a fragment of the password.");
            Assert.False(exception.ToString().Contains("9zK", StringComparison.Ordinal) || exception.ToString().Contains("Pa55", StringComparison.Ordinal), "The exception quotes the password.");
        }
    }

    private static async Task ExecuteOpenAsync(ResiliencePipeline pipeline, string connectionString, bool async)
    {
        if (async)
        {
            await pipeline.ExecuteAsync(async ct =>
            {
                await using var connection = await OpenAsync(connectionString, async: true);
            });
        }
        else
        {
            pipeline.Execute(() =>
            {
                using var connection = OpenAsync(connectionString, async: false).GetAwaiter().GetResult();
            });
        }
    }

    private static async Task ExecuteCommandAsync(ResiliencePipeline pipeline, string connectionString, string sql, bool async, int commandTimeout = 30)
    {
        if (async)
        {
            await pipeline.ExecuteAsync(async ct =>
            {
                await using var connection = await OpenAsync(connectionString, async: true);
                await using var command = new SqlCommand(sql, connection) { CommandTimeout = commandTimeout };
                await command.ExecuteNonQueryAsync(ct);
            });
        }
        else
        {
            pipeline.Execute(() =>
            {
                using var connection = OpenAsync(connectionString, async: false).GetAwaiter().GetResult();
                using var command = new SqlCommand(sql, connection) { CommandTimeout = commandTimeout };
                command.ExecuteNonQuery();
            });
        }
    }
}

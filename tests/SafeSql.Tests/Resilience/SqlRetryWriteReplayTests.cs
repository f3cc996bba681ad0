using Microsoft.Data.SqlClient;

using Polly;

using SafeSql.Testing;

using static SafeSql.Tests.Classification.SqlFailureClassifierTests;

namespace SafeSql.Tests.Resilience;

/// <summary>
/// A write whose answer is lost (the loopback server applies it, then resets the connection) is replayed by SafeSql's Polly
/// retry only when the caller declared it idempotent, and never by the data source's open retry; the server's counters say
/// how many times it was applied.
/// </summary>
public sealed class SqlRetryWriteReplayTests
{
    private const string Insert = "INSERT INTO [Orders] ([Name]) VALUES (N'once')";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddSqlRetry_WriteResetAfterExecuting_NotReplayedAndOriginalRethrown(bool async)
    {
        // Arrange
        await using var server = await StartAsync();
        var connectionString = ConnectionString(server);
        var recorder = new RetryRecorder();
        var pipeline = recorder.Builder().AddSqlRetry(new SqlRetryStrategyOptions { Delay = TimeSpan.Zero }, connectionString).Build();

        // Act
        var exception = await CaptureAsync(() => ExecuteAsync(pipeline, connectionString, async));

        // Assert: applied once; SqlClient's transport-level error reaches the caller untouched.
        Assert.Equal(20, Assert.IsType<SqlException>(exception).Class);
        Assert.Empty(recorder.Retries);
        Assert.Equal(1, server.Counters.RowsWritten);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddSqlRetry_IdempotentWriteResetAfterExecuting_ReplayedAsTheCallerDeclared(bool async)
    {
        // Arrange: IsIdempotent is the caller's statement that applying the write twice is harmless.
        await using var server = await StartAsync();
        var connectionString = ConnectionString(server);
        var recorder = new RetryRecorder();
        var options = new SqlRetryStrategyOptions { IsIdempotent = true, MaxRetryAttempts = 2, Delay = TimeSpan.Zero };
        var pipeline = recorder.Builder().AddSqlRetry(options, connectionString).Build();

        // Act
        var exception = await CaptureAsync(() => ExecuteAsync(pipeline, connectionString, async));

        // Assert: every attempt was applied.
        Assert.IsType<SqlException>(exception);
        Assert.Equal([SqlFailureKind.ConnectionBroken, SqlFailureKind.ConnectionBroken], recorder.Retries.Select(r => r.Kind));
        Assert.Equal(3, server.Counters.RowsWritten);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DataSourceOpenRetry_WriteResetAfterExecuting_NeverReplaysTheWrite(bool async)
    {
        // Arrange: the data source retries opens by default; the command runs on the connection it returned.
        await using var server = await StartAsync();
        await using var dataSource = SafeSqlDataSource.Create(ConnectionString(server));
        await using var connection = async ? await dataSource.OpenConnectionAsync() : dataSource.OpenConnection();
        await using var command = new SqlCommand(Insert, connection);

        // Act
        var exception = async
            ? await Assert.ThrowsAsync<SqlException>(() => command.ExecuteNonQueryAsync())
            : Assert.Throws<SqlException>(() => command.ExecuteNonQuery());

        // Assert
        Assert.Equal(20, exception.Class);
        Assert.Equal(1, server.Counters.RowsWritten);
        Assert.Equal(1, server.Counters.Logins);
    }

    /// <summary>A server that applies every INSERT (one row) and resets the connection before answering it.</summary>
    private static async Task<LoopbackSqlServer> StartAsync()
    {
        var server = await LoopbackSqlServer.StartAsync();
        server.BatchHandler = request => request.Sql.StartsWith("INSERT", StringComparison.Ordinal) ? LoopbackResponse.RowsAffected(1) : null;
        server.Faults.ResetAfterExecuting = request => request.Sql.StartsWith("INSERT", StringComparison.Ordinal);
        return server;
    }

    private static async Task ExecuteAsync(ResiliencePipeline pipeline, string connectionString, bool async)
    {
        if (async)
        {
            await pipeline.ExecuteAsync(async ct =>
            {
                await using var connection = new SqlConnection(connectionString);
                await connection.OpenAsync(ct);
                await using var command = new SqlCommand(Insert, connection);
                await command.ExecuteNonQueryAsync(ct);
            });
        }
        else
        {
            pipeline.Execute(() =>
            {
                using var connection = new SqlConnection(connectionString);
                connection.Open();
                using var command = new SqlCommand(Insert, connection);
                command.ExecuteNonQuery();
            });
        }
    }
}

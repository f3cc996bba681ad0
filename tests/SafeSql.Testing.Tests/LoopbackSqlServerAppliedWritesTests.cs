using Microsoft.Data.SqlClient;

namespace SafeSql.Testing.Tests;

/// <summary>
/// What the server applied, counted on its side (<see cref="LoopbackSqlServerCounters.RowsWritten"/>, transactions committed and
/// rolled back), and the faults that apply a change and reset the connection before the client learns it.
/// </summary>
public sealed class LoopbackSqlServerAppliedWritesTests
{
    private const string Insert = "INSERT INTO [Orders] ([Name]) VALUES (N'one')";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ResetAfterExecuting_AutocommitInsert_AppliedAndClientGetsTransportError(bool async)
    {
        // Arrange
        await using var server = await StartAsync();
        server.Faults.ResetAfterExecuting = request => request.Sql.StartsWith("INSERT", StringComparison.Ordinal);
        await using var connection = new SqlConnection(LoopbackSqlServerFaultsTests.Unpooled(server));
        await LoopbackSqlServerFaultsTests.OpenAsync(connection, async);

        // Act
        var ex = await ExecuteFailsAsync(connection, null, Insert, async);

        // Assert: the row was applied, the client only saw the connection die (class 20, a transport-level error).
        Assert.Equal(20, ex.Class);
        Assert.Equal(1, server.Counters.RowsWritten);
        Assert.Equal(0, server.Counters.TransactionsCommitted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ResetAfterExecuting_InsideTransaction_RolledBackWithTheConnection(bool async)
    {
        // Arrange
        await using var server = await StartAsync();
        server.Faults.ResetAfterExecuting = request => request.Sql.StartsWith("INSERT", StringComparison.Ordinal);
        await using var connection = new SqlConnection(LoopbackSqlServerFaultsTests.Unpooled(server));
        await LoopbackSqlServerFaultsTests.OpenAsync(connection, async);
        var transaction = async ? (SqlTransaction)await connection.BeginTransactionAsync() : connection.BeginTransaction();

        // Act
        _ = await ExecuteFailsAsync(connection, transaction, Insert, async);

        // Assert: the session ended with its transaction open, so the server rolled it back; nothing was applied.
        await WaitForAsync(() => server.Counters.OpenConnections == 0);
        Assert.Equal(0, server.Counters.RowsWritten);
        Assert.Equal(1, server.Counters.TransactionsRolledBack);
        Assert.Equal(0, server.Counters.TransactionsCommitted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ResetAfterCommit_Commit_AppliedAndClientGetsTransportError(bool async)
    {
        // Arrange: two rows inserted in a transaction.
        await using var server = await StartAsync();
        await using var connection = new SqlConnection(LoopbackSqlServerFaultsTests.Unpooled(server));
        await LoopbackSqlServerFaultsTests.OpenAsync(connection, async);
        var transaction = async ? (SqlTransaction)await connection.BeginTransactionAsync() : connection.BeginTransaction();
        await ExecuteAsync(connection, transaction, Insert, async);
        await ExecuteAsync(connection, transaction, Insert, async);
        Assert.Equal(0, server.Counters.RowsWritten);
        server.Faults.ResetAfterCommit = true;

        // Act
        var ex = async
            ? await Assert.ThrowsAnyAsync<Exception>(() => transaction.CommitAsync())
            : Assert.ThrowsAny<Exception>(transaction.Commit);

        // Assert: committed on the server, unknown to the client.
        Assert.True(ex is SqlException or InvalidOperationException, ex.ToString());
        Assert.Equal(1, server.Counters.TransactionsCommitted);
        Assert.Equal(2, server.Counters.RowsWritten);
        await WaitForAsync(() => server.Counters.OpenConnections == 0);
        Assert.Equal(0, server.Counters.TransactionsRolledBack);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RowsWritten_RollbackThenAutocommit_CountsOnlyTheApplied(bool async)
    {
        // Arrange
        await using var server = await StartAsync();
        await using var connection = new SqlConnection(LoopbackSqlServerFaultsTests.Unpooled(server));
        await LoopbackSqlServerFaultsTests.OpenAsync(connection, async);

        // Act: one row rolled back, one row outside a transaction.
        var transaction = async ? (SqlTransaction)await connection.BeginTransactionAsync() : connection.BeginTransaction();
        await ExecuteAsync(connection, transaction, Insert, async);
        if (async)
        {
            await transaction.RollbackAsync();
        }
        else
        {
            transaction.Rollback();
        }

        await ExecuteAsync(connection, null, Insert, async);

        // Assert
        Assert.Equal(1, server.Counters.RowsWritten);
        Assert.Equal(1, server.Counters.TransactionsRolledBack);
        Assert.Equal(0, server.Counters.TransactionsCommitted);
    }

    [Fact]
    public void WithRowsWritten_BatchReply_Throws()
    {
        // Arrange
        var batch = LoopbackResponse.Batch(LoopbackResponse.Empty, LoopbackResponse.Empty);

        // Act
        var ex = Assert.Throws<InvalidOperationException>(() => batch.WithRowsWritten(1));

        // Assert
        Assert.Equal("WithRowsWritten marks the reply of one statement; mark each reply before passing them to Batch.", ex.Message);
    }

    /// <summary>A server whose INSERTs write one row each (answered with a row count).</summary>
    private static async Task<LoopbackSqlServer> StartAsync()
    {
        var server = await LoopbackSqlServer.StartAsync();
        server.BatchHandler = request => request.Sql.StartsWith("INSERT", StringComparison.Ordinal) ? LoopbackResponse.RowsAffected(1) : null;
        return server;
    }

    private static async Task ExecuteAsync(SqlConnection connection, SqlTransaction? transaction, string sql, bool async)
    {
        using var command = new SqlCommand(sql, connection, transaction);
        var rows = async ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();
        Assert.Equal(1, rows);
    }

    private static async Task<SqlException> ExecuteFailsAsync(SqlConnection connection, SqlTransaction? transaction, string sql, bool async)
    {
        using var command = new SqlCommand(sql, connection, transaction);
        return async
            ? await Assert.ThrowsAsync<SqlException>(() => command.ExecuteNonQueryAsync())
            : Assert.Throws<SqlException>(() => command.ExecuteNonQuery());
    }

    /// <summary>Waits for the server's side to catch up (a session ends on its own task after the reset), at most 30 s.</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}

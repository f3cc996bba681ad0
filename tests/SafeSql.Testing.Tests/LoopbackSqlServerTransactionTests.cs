using System.Data;
using Microsoft.Data.SqlClient;

namespace SafeSql.Testing.Tests;

public sealed class LoopbackSqlServerTransactionTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BeginTransaction_CommitAndRollback_TrackTranCount(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        // Act
        var transaction = async ? (SqlTransaction)await connection.BeginTransactionAsync() : connection.BeginTransaction();
        var inside = await ScalarAsync(connection, transaction, "SELECT @@TRANCOUNT", async);
        if (async)
        {
            await transaction.CommitAsync();
        }
        else
        {
            transaction.Commit();
        }

        var afterCommit = await ScalarAsync(connection, null, "SELECT @@TRANCOUNT", async);
        var second = connection.BeginTransaction(IsolationLevel.Serializable);
        second.Save("point");
        second.Rollback();
        var afterRollback = await ScalarAsync(connection, null, "SELECT @@TRANCOUNT", async);

        // Assert
        Assert.Equal(1, inside);
        Assert.Equal(0, afterCommit);
        Assert.Equal(0, afterRollback);
        Assert.Null(transaction.Connection);
        Assert.Equal(5, server.Counters.TransactionRequests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BeginTranInBatch_ThenCommitWithoutBegin_Throws3902(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        // Act
        var count = await ScalarAsync(connection, null, "BEGIN TRAN; BEGIN TRANSACTION inner; COMMIT; SELECT @@TRANCOUNT", async);
        await ScalarAsync(connection, null, "COMMIT TRAN", async);
        var ex = await Assert.ThrowsAsync<SqlException>(() => ScalarAsync(connection, null, "COMMIT", async));

        // Assert
        Assert.Equal(1, count);
        Assert.Equal(3902, ex.Number);
        Assert.Equal(16, ex.Class);
        Assert.Equal("The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Close_WithOpenTransaction_PooledReuseRollsItBack(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = server.ConnectionString + ";Application Name=" + Guid.NewGuid();
        await using (var first = new SqlConnection(connectionString))
        {
            await first.OpenAsync();
            _ = first.BeginTransaction();
        }

        // Act
        await using var second = new SqlConnection(connectionString);
        await second.OpenAsync();
        var count = await ScalarAsync(second, null, "SELECT @@TRANCOUNT", async);

        // Assert
        Assert.Equal(0, count);
        Assert.Equal(1, server.Counters.TcpConnectionsAccepted);
        Assert.Equal(1, server.Counters.ResetConnections);
    }

    private static async Task<object?> ScalarAsync(SqlConnection connection, SqlTransaction? transaction, string sql, bool async)
    {
        using var command = new SqlCommand(sql, connection, transaction);
        return async ? await command.ExecuteScalarAsync() : command.ExecuteScalar();
    }
}

using System.Data;
using Microsoft.Data.SqlClient;

namespace SafeSql.Testing.Tests;

public sealed class LoopbackResponseTests
{
    [Theory]
    [InlineData(false, 1205, 13, 51, "Transaction (Process ID 51) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.")]
    [InlineData(true, 1205, 13, 51, "Transaction (Process ID 51) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.")]
    [InlineData(true, 40613, 17, 1, "Database 'Orders' on server 'x' is not currently available.")]
    public async Task Error_FromBatchHandler_ThrowsSqlExceptionWithNumberClassState(bool async, int number, int severity, int state, string message)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.BatchHandler = request => request.Sql.Contains("Orders", StringComparison.Ordinal) ? LoopbackResponse.Error(number, severity, state, message) : null;
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        // Act
        var ex = await Assert.ThrowsAsync<SqlException>(() => LoopbackSqlServerTests.ScalarAsync(connection, "UPDATE Orders SET Paid = 1", async));

        // Assert
        Assert.Equal(number, ex.Number);
        Assert.Equal(severity, ex.Class);
        Assert.Equal(state, ex.State);
        Assert.Equal(message, ex.Message);
        Assert.Equal(ConnectionState.Open, connection.State);
        Assert.Equal(1, await LoopbackSqlServerTests.ScalarAsync(connection, "SELECT 1", async));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Rows_FromBatchHandler_ReaderSeesTypedColumns(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var when = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Unspecified);
        var id = Guid.NewGuid();
        server.BatchHandler = request => request.Sql == "SELECT * FROM Orders"
            ? LoopbackResponse.Rows(
                ["Id", "Customer", "Total", "PlacedAt", "Paid", "Ref", "Weight", "Blob", "Big"],
                [1, "Ada", 12.50m, when, true, id, 1.5, new byte[] { 1, 2, 3 }, long.MaxValue],
                [2, null, 0.01m, when.AddDays(1), false, Guid.Empty, 2.25, null, -1L])
            : null;
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        // Act
        await using var reader = async
            ? await new SqlCommand("SELECT * FROM Orders", connection).ExecuteReaderAsync()
            : new SqlCommand("SELECT * FROM Orders", connection).ExecuteReader();
        var table = new DataTable();
        table.Load(reader);

        // Assert
        Assert.Equal(
            [typeof(int), typeof(string), typeof(decimal), typeof(DateTime), typeof(bool), typeof(Guid), typeof(double), typeof(byte[]), typeof(long)],
            table.Columns.Cast<DataColumn>().Select(c => c.DataType));
        Assert.Equal([1, "Ada", 12.50m, when, true, id, 1.5, new byte[] { 1, 2, 3 }, long.MaxValue], table.Rows[0].ItemArray);
        Assert.Equal([2, DBNull.Value, 0.01m, when.AddDays(1), false, Guid.Empty, 2.25, DBNull.Value, -1L], table.Rows[1].ItemArray);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RowsAffected_FromBatchHandler_ExecuteNonQueryReturnsCount(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.BatchHandler = request => request.Sql.StartsWith("DELETE", StringComparison.Ordinal) ? LoopbackResponse.RowsAffected(3) : null;
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        var command = new SqlCommand("DELETE FROM Orders WHERE Id < @id", connection);
        command.Parameters.AddWithValue("@id", 10);

        // Act
        var affected = async ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();

        // Assert
        Assert.Equal(3, affected);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BatchHandler_RpcRequest_SeesStatementAndParameters(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        LoopbackRequest? seen = null;
        server.BatchHandler = request =>
        {
            seen = request;
            return LoopbackResponse.Empty;
        };
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        var command = new SqlCommand("UPDATE Orders SET Note = @note WHERE Id = @id", connection);
        command.Parameters.Add("@note", SqlDbType.NVarChar, 50).Value = "hi";
        command.Parameters.Add("@id", SqlDbType.Int).Value = 5;

        // Act
        var affected = async ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();

        // Assert
        Assert.Equal(-1, affected);
        Assert.NotNull(seen);
        Assert.True(seen.IsRpc);
        Assert.Equal("sp_executesql", seen.ProcedureName);
        Assert.Equal("UPDATE Orders SET Note = @note WHERE Id = @id", seen.Sql);
        Assert.Equal(connection.ServerProcessId, seen.SessionId);
        Assert.Equal(["@note nvarchar = hi", "@id int = 5"], seen.Parameters.Select(p => p.ToString()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Disconnect_FromBatchHandler_ThrowsTransportErrorAndDropsConnection(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.BatchHandler = request => request.Sql == "SELECT 2" ? LoopbackResponse.Disconnect() : null;
        var connectionString = server.ConnectionString + ";Application Name=" + Guid.NewGuid();
        await using (var connection = new SqlConnection(connectionString))
        {
            await connection.OpenAsync();

            // Act
            var ex = await Assert.ThrowsAsync<SqlException>(() => LoopbackSqlServerTests.ScalarAsync(connection, "SELECT 2", async));

            // Assert
            Assert.Equal(0, ex.Number);
            Assert.Equal(20, ex.Class);
            Assert.StartsWith("A transport-level error has occurred when receiving results from the server.", ex.Message, StringComparison.Ordinal);
        }

        await using var next = new SqlConnection(connectionString);
        await next.OpenAsync();
        Assert.Equal(1, await LoopbackSqlServerTests.ScalarAsync(next, "SELECT 1", async));
        Assert.Equal(2, server.Counters.TcpConnectionsAccepted);
    }

    [Fact]
    public async Task BatchHandler_Throws_ClientSeesError50000()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.BatchHandler = _ => throw new InvalidOperationException("handler bug");
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        // Act
        var ex = await Assert.ThrowsAsync<SqlException>(() => LoopbackSqlServerTests.ScalarAsync(connection, "SELECT 1", async: true));

        // Assert
        Assert.Equal(50000, ex.Number);
        Assert.Equal(16, ex.Class);
        Assert.Equal("BatchHandler threw InvalidOperationException: handler bug", ex.Message);
    }

    [Fact]
    public async Task Rows_ValueNotFittingColumnType_ClientSeesError50000AndConnectionStaysUsable()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.BatchHandler = request => request.Sql == "SELECT mixed" ? LoopbackResponse.Rows(["a"], [1], ["not a number"]) : null;
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        // Act
        var ex = await Assert.ThrowsAsync<SqlException>(() => LoopbackSqlServerTests.ScalarAsync(connection, "SELECT mixed", async: true));

        // Assert
        Assert.Equal(50000, ex.Number);
        Assert.StartsWith("The SafeSql loopback server could not answer this request: InvalidCastException: A value of the result set does not fit its column's type (int).", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, await LoopbackSqlServerTests.ScalarAsync(connection, "SELECT 1", async: true));
    }

    [Fact]
    public void Error_SeverityOutOfRange_ThrowsWithParameterName()
    {
        // Act
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => LoopbackResponse.Error(50000, 26, 1, "x"));

        // Assert
        Assert.Equal("severity", ex.ParamName);
    }

    [Fact]
    public void Rows_RowWithWrongValueCount_ThrowsArgumentException()
    {
        // Act
        var ex = Assert.Throws<ArgumentException>(() => LoopbackResponse.Rows(["a", "b"], [1]));

        // Assert
        Assert.Equal("rows", ex.ParamName);
        Assert.Equal("Every row must have 2 values, one per column; a row has 1. (Parameter 'rows')", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Batch_FromBatchHandler_ReaderSeesOneResultPerStatement(bool async)
    {
        // Arrange: a multi-statement batch as EF Core's SaveChanges sends it, answered statement by statement.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.BatchHandler = request => request.Sql.StartsWith("SET NOCOUNT ON;", StringComparison.Ordinal)
            ? LoopbackResponse.Batch(
                LoopbackResponse.Rows([""], [1]),
                LoopbackResponse.Error(1205, 13, 51, "Transaction (Process ID 51) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction."),
                LoopbackResponse.Rows(["Id", "_Position"], [101, 0], [102, 1]))
            : null;
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        using var command = new SqlCommand("SET NOCOUNT ON; UPDATE Orders SET Name = @p0 OUTPUT 1 WHERE Id = @p1; MERGE Orders ...", connection);
        command.Parameters.AddWithValue("@p0", "renamed");
        command.Parameters.AddWithValue("@p1", 1);

        // Act: read every result set; the error of the second statement surfaces when the reader moves past it.
        var results = new List<int>();
        SqlException? error = null;
        await using (var reader = async ? await command.ExecuteReaderAsync() : command.ExecuteReader())
        {
            var more = true;
            while (more)
            {
                while (async ? await reader.ReadAsync() : reader.Read())
                {
                    results.Add(reader.GetInt32(0));
                }

                try
                {
                    more = async ? await reader.NextResultAsync() : reader.NextResult();
                }
                catch (SqlException ex)
                {
                    error = ex;
                    more = async ? await reader.NextResultAsync() : reader.NextResult();
                }
            }
        }

        // Assert: the first and third statements' rows, the second statement's error, and a usable connection.
        Assert.Equal([1, 101, 102], results);
        Assert.Equal(1205, error?.Number);
        Assert.Equal(ConnectionState.Open, connection.State);
        Assert.Equal(1, await LoopbackSqlServerTests.ScalarAsync(connection, "SELECT 1", async));
    }

    [Fact]
    public void Batch_EmptyOrNull_ThrowsWithParameterName()
    {
        Assert.Equal("responses", Assert.Throws<ArgumentException>(() => LoopbackResponse.Batch()).ParamName);
        Assert.Equal("responses", Assert.Throws<ArgumentNullException>(() => LoopbackResponse.Batch(null!)).ParamName);
        Assert.Equal("responses", Assert.Throws<ArgumentNullException>(() => LoopbackResponse.Batch(LoopbackResponse.Empty, null!)).ParamName);
    }
}

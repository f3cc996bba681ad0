using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Time.Testing;

namespace SafeSql.Testing.Tests;

public sealed class LoopbackSqlServerTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteScalar_SelectOne_ReturnsOne(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);

        // Act
        object? result;
        if (async)
        {
            await connection.OpenAsync();
            result = await new SqlCommand("SELECT 1", connection).ExecuteScalarAsync();
        }
        else
        {
            connection.Open();
            result = new SqlCommand("SELECT 1", connection).ExecuteScalar();
        }

        // Assert
        Assert.Equal(1, result);
        Assert.Equal(1, server.Counters.TcpConnectionsAccepted);
        Assert.Equal(1, server.Counters.Logins);
        Assert.Equal(1, server.Counters.Batches);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_WrongPassword_ThrowsLogin18456(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var builder = new SqlConnectionStringBuilder(server.ConnectionString) { Password = "wrong", Pooling = false };
        await using var connection = new SqlConnection(builder.ConnectionString);

        // Act
        var ex = async
            ? await Assert.ThrowsAsync<SqlException>(() => connection.OpenAsync())
            : Assert.Throws<SqlException>(() => connection.Open());

        // Assert
        Assert.Equal(18456, ex.Number);
        Assert.Equal(14, ex.Class);
        Assert.Equal(1, ex.State);
        Assert.Equal("Login failed for user 'sa'.", ex.Message);
        Assert.Equal(1, server.Counters.FailedLogins);
        Assert.Equal("wrong", Assert.Single(server.Logins).Password);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteScalar_Parameters_EchoesValues(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        var command = new SqlCommand("SELECT @id, @name, @at", connection);
        command.Parameters.AddWithValue("@id", 42);
        command.Parameters.AddWithValue("@name", "Zoë");
        command.Parameters.Add("@at", System.Data.SqlDbType.DateTime2).Value = new DateTime(2024, 2, 29, 13, 14, 15, 123, DateTimeKind.Unspecified);

        // Act
        await using var reader = async ? await command.ExecuteReaderAsync() : command.ExecuteReader();
        Assert.True(async ? await reader.ReadAsync() : reader.Read());

        // Assert
        Assert.Equal(42, reader.GetInt32(0));
        Assert.Equal("Zoë", reader.GetString(1));
        Assert.Equal(new DateTime(2024, 2, 29, 13, 14, 15, 123, DateTimeKind.Unspecified), reader.GetDateTime(2));
        Assert.False(reader.Read());
        Assert.Equal(1, server.Counters.Rpcs);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteReader_UnionAll_ReturnsRowsAndColumns(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        var command = new SqlCommand("SELECT 1 AS id, N'one' AS name, NULL AS note UNION ALL SELECT 2, N'two', 'x' UNION ALL SELECT 3, N'three', NULL", connection);
        var rows = new List<(int Id, string Name, string? Note)>();

        // Act
        await using (var reader = async ? await command.ExecuteReaderAsync() : command.ExecuteReader())
        {
            while (async ? await reader.ReadAsync() : reader.Read())
            {
                rows.Add((reader.GetInt32(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetValue(2).ToString()));
            }

            // Assert
            Assert.Equal(["id", "name", "note"], Enumerable.Range(0, reader.FieldCount).Select(reader.GetName));
        }

        Assert.Equal([(1, "one", null), (2, "two", "1"), (3, "three", null)], rows.Select(r => (r.Id, r.Name, r.Note is null ? null : "1")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteReader_SeveralStatements_ReturnsSeveralResultSets(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        var command = new SqlCommand("SET NOCOUNT ON; SELECT 1; SELECT 'a' AS letter, 2.50 AS amount, 3000000000 AS big", connection);

        // Act
        await using var reader = async ? await command.ExecuteReaderAsync() : command.ExecuteReader();
        Assert.True(await reader.ReadAsync());
        var first = reader.GetInt32(0);
        Assert.True(async ? await reader.NextResultAsync() : reader.NextResult());
        Assert.True(await reader.ReadAsync());

        // Assert
        Assert.Equal(1, first);
        Assert.Equal("a", reader.GetString(0));
        Assert.Equal(2.50m, reader.GetDecimal(1));
        Assert.Equal(3000000000m, reader.GetDecimal(2));
        Assert.False(await reader.ReadAsync());
        Assert.False(await reader.NextResultAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteScalar_SystemVariables_ReturnSessionValues(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { FirstSessionId = 60 });
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        // Act
        var spid = await ScalarAsync(connection, "SELECT @@SPID", async);
        var version = await ScalarAsync(connection, "SELECT @@VERSION", async);
        var database = await ScalarAsync(connection, "SELECT DB_NAME()", async);

        // Assert
        Assert.Equal((short)60, spid);
        Assert.Equal(60, connection.ServerProcessId);
        Assert.StartsWith("Microsoft SQL Server 2022 (RTM) - 16.0.1000.6", (string)version!, StringComparison.Ordinal);
        Assert.Equal("16.00.1000", connection.ServerVersion);
        Assert.Equal("master", database);
        Assert.Equal("master", connection.Database);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Dapper_Parameters_RoundTripTypes(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        var at = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Unspecified);
        var id = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");
        var args = new { n = 7, big = 1L << 40, name = "Ünïcode ✓", at, flag = true, ratio = 0.25, price = 12.345m, id, nothing = (int?)null };
        const string sql = "SELECT @n AS N, @big AS Big, @name AS Name, @at AS At, @flag AS Flag, @ratio AS Ratio, @price AS Price, @id AS Id, @nothing AS Nothing";

        // Act
        var row = async
            ? await Dapper.SqlMapper.QuerySingleAsync<DapperRow>(connection, sql, args)
            : Dapper.SqlMapper.QuerySingle<DapperRow>(connection, sql, args);

        // Assert
        Assert.Equal(new DapperRow(7, 1L << 40, "Ünïcode ✓", at, true, 0.25, 12.345m, id, null), row);
        Assert.Equal(1, server.Counters.Rpcs);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteScalar_UnknownSql_ThrowsSyntaxError102(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        // Act
        var ex = await Assert.ThrowsAsync<SqlException>(() => ScalarAsync(connection, "SELEC 1", async));

        // Assert
        Assert.Equal(102, ex.Number);
        Assert.Equal(15, ex.Class);
        Assert.Equal("Incorrect syntax near 'SELEC'.", ex.Message);
        Assert.Equal(1, await ScalarAsync(connection, "SELECT 1", async));
    }

    [Theory]
    [InlineData(false, 16, 1)]
    [InlineData(true, 16, 1)]
    [InlineData(false, 11, 200)]
    [InlineData(true, 19, 3)]
    public async Task ExecuteNonQuery_RaiseError_ThrowsWithNumberClassAndState(bool async, int severity, int state)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        var command = new SqlCommand($"RAISERROR('Order %d failed: %s', {severity}, {state}, 42, N'out of stock')", connection);

        // Act
        var ex = async
            ? await Assert.ThrowsAsync<SqlException>(() => command.ExecuteNonQueryAsync())
            : Assert.Throws<SqlException>(() => command.ExecuteNonQuery());

        // Assert
        Assert.Equal(50000, ex.Number);
        Assert.Equal(severity, ex.Class);
        Assert.Equal(state, ex.State);
        Assert.Equal("Order 42 failed: out of stock", ex.Message);
        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
        Assert.Equal(1, await ScalarAsync(connection, "SELECT 1", async));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteNonQuery_RaiseErrorSeverity10_RaisesInfoMessage(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        var messages = new List<(int Number, byte Class, string Message)>();
        connection.InfoMessage += (_, e) => messages.AddRange(e.Errors.Cast<SqlError>().Select(x => (x.Number, x.Class, x.Message)));
        var command = new SqlCommand("RAISERROR('just saying', 10, 1); PRINT 'printed'", connection);

        // Act
        _ = async ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();

        // Assert
        Assert.Equal([(50000, (byte)10, "just saying"), (0, (byte)0, "printed")], messages);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteScalar_Throw_ThrowsClass16AndAbortsBatch(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        // Act
        var ex = await Assert.ThrowsAsync<SqlException>(() => ScalarAsync(connection, "THROW 51000, 'The record does not exist.', 7; SELECT 1", async));

        // Assert
        Assert.Equal(51000, ex.Number);
        Assert.Equal(16, ex.Class);
        Assert.Equal(7, ex.State);
        Assert.Equal("The record does not exist.", ex.Message);
        Assert.Equal(1, ex.LineNumber);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteNonQuery_RaiseErrorSeverity20_ClosesConnection(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        var command = new SqlCommand("RAISERROR('fatal', 20, 1) WITH LOG", connection);

        // Act
        var ex = async
            ? await Assert.ThrowsAsync<SqlException>(() => command.ExecuteNonQueryAsync())
            : Assert.Throws<SqlException>(() => command.ExecuteNonQuery());

        // Assert
        Assert.Equal(50000, ex.Number);
        Assert.Equal(20, ex.Class);
        Assert.Equal(System.Data.ConnectionState.Closed, connection.State);
        await WaitUntilAsync(() => server.Counters.OpenConnections == 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteScalar_CommandTimeout_ThrowsMinus2AndConnectionStaysUsable(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        var command = new SqlCommand("WAITFOR DELAY '00:00:30'", connection) { CommandTimeout = 1 };

        // Act
        var ex = async
            ? await Assert.ThrowsAsync<SqlException>(() => command.ExecuteNonQueryAsync())
            : Assert.Throws<SqlException>(() => command.ExecuteNonQuery());

        // Assert
        Assert.Equal(-2, ex.Number);
        Assert.Equal(11, ex.Class);
        Assert.StartsWith("Execution Timeout Expired.", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.Counters.Attentions);
        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
        Assert.Equal(1, await ScalarAsync(connection, "SELECT 1", async));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteNonQuery_WaitForShortDelay_Completes(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        var command = new SqlCommand("WAITFOR DELAY '00:00:00.050'; SELECT 5", connection);

        // Act
        var result = async ? await command.ExecuteScalarAsync() : command.ExecuteScalar();

        // Assert
        Assert.Equal(5, result);
    }

    [Fact]
    public async Task Cancel_RunningCommand_ThrowsOperationCancelledAndConnectionStaysUsable()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        var command = new SqlCommand("WAITFOR DELAY '00:01:00'", connection);
        var running = Task.Run(() => command.ExecuteNonQuery());
        await WaitUntilAsync(() => server.Counters.Batches == 1);

        // Act
        command.Cancel();
        var ex = await Assert.ThrowsAsync<SqlException>(() => running);

        // Assert
        Assert.Equal(0, ex.Number);
        Assert.Equal(11, ex.Class);
        Assert.Equal("Operation cancelled by user.", ex.Message);
        Assert.Equal(1, await ScalarAsync(connection, "SELECT 1", async: true));
    }

    [Theory]
    [InlineData(false, 512)]
    [InlineData(true, 512)]
    [InlineData(true, 8000)]
    public async Task ExecuteReader_ResultsLargerThanPacketSize_SplitIntoPackets(bool async, int packetSize)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var big = new string('x', 3000) + "✓" + new string('y', 9000);
        var rows = Enumerable.Range(0, 500).Select(i => new object?[] { i, "row " + i }).ToArray();
        server.BatchHandler = request => request.Sql == "SELECT rows" ? LoopbackResponse.Rows(["id", "name"], rows) : null;
        var builder = new SqlConnectionStringBuilder(server.ConnectionString) { PacketSize = packetSize, ApplicationName = Guid.NewGuid().ToString() };
        await using var connection = new SqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        var echo = new SqlCommand("SELECT @big AS big", connection);
        echo.Parameters.Add("@big", System.Data.SqlDbType.NVarChar, -1).Value = big;
        var longSql = "SELECT 1 AS " + new string('c', 100) + " /* " + new string('-', 20_000) + " */";

        // Act
        var echoed = async ? await echo.ExecuteScalarAsync() : echo.ExecuteScalar();
        var count = 0;
        await using (var reader = async ? await new SqlCommand("SELECT rows", connection).ExecuteReaderAsync() : new SqlCommand("SELECT rows", connection).ExecuteReader())
        {
            while (async ? await reader.ReadAsync() : reader.Read())
            {
                Assert.Equal("row " + count, reader.GetString(1));
                count++;
            }
        }

        var longResult = await ScalarAsync(connection, longSql, async);

        // Assert
        Assert.Equal(big, echoed);
        Assert.Equal(500, count);
        Assert.Equal(1, longResult);
        Assert.Equal(packetSize, connection.PacketSize);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Use_ThenPooledReuse_ResetRestoresLoginDatabase(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = new SqlConnectionStringBuilder(server.ConnectionString) { InitialCatalog = "Orders", ApplicationName = Guid.NewGuid().ToString() }.ConnectionString;
        await using (var first = new SqlConnection(connectionString))
        {
            await first.OpenAsync();
            await ScalarAsync(first, "USE Archive", async);
            Assert.Equal("Archive", first.Database);
            Assert.Equal("Archive", await ScalarAsync(first, "SELECT DB_NAME()", async));
        }

        // Act
        await using var second = new SqlConnection(connectionString);
        await second.OpenAsync();
        var database = await ScalarAsync(second, "SELECT DB_NAME()", async);

        // Assert
        Assert.Equal("Orders", database);
        Assert.Equal("Orders", second.Database);
        Assert.Equal(1, server.Counters.ResetConnections);
        Assert.Equal(1, server.Counters.TcpConnectionsAccepted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteNonQuery_StoredProcedureUnknown_ThrowsCouldNotFind2812(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        var command = new SqlCommand("dbo.GetOrders", connection) { CommandType = System.Data.CommandType.StoredProcedure };

        // Act
        var ex = async
            ? await Assert.ThrowsAsync<SqlException>(() => command.ExecuteNonQueryAsync())
            : Assert.Throws<SqlException>(() => command.ExecuteNonQuery());

        // Assert
        Assert.Equal(2812, ex.Number);
        Assert.Equal(16, ex.Class);
        Assert.Equal("Could not find stored procedure 'dbo.GetOrders'.", ex.Message);
        Assert.Equal(1, server.Counters.Rpcs);
    }

    [Theory]
    [InlineData("SELECT @missing", 137, "Must declare the scalar variable \"@missing\".")]
    [InlineData("SELECT 'abc", 105, "Unclosed quotation mark after the character string 'abc'.")]
    [InlineData("WAITFOR DELAY 'soon'", 148, "Incorrect time syntax in time string 'soon' used with WAITFOR.")]
    [InlineData("SELECT NOPE()", 195, "'NOPE' is not a recognized built-in function name.")]
    [InlineData("THROW 1, 'low', 1", 35100, "Error number 1 in the THROW statement is outside the valid range. Specify an error number in the valid range of 50000 to 2147483647.")]
    [InlineData("SELECT 1 FROM Orders", 102, "Incorrect syntax near 'FROM'.")]
    public async Task ExecuteScalar_InvalidSql_ThrowsSqlServerError(string sql, int number, string message)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        // Act
        var ex = await Assert.ThrowsAsync<SqlException>(() => ScalarAsync(connection, sql, async: true));

        // Assert
        Assert.Equal(number, ex.Number);
        Assert.Equal(message, ex.Message);
        Assert.InRange(ex.Class, (byte)11, (byte)16);
    }

    [Fact]
    public async Task ExecuteScalar_SysUtcDateTime_ReadsOptionsTimeProviderEachTime()
    {
        // Arrange
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { TimeProvider = clock });
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        // Act
        var first = await ScalarAsync(connection, "SELECT SYSUTCDATETIME()", async: true);
        clock.Advance(TimeSpan.FromHours(1));
        var second = await ScalarAsync(connection, "SELECT SYSUTCDATETIME()", async: true);

        // Assert
        Assert.Equal(new DateTime(2030, 1, 2, 3, 4, 5, DateTimeKind.Unspecified), first);
        Assert.Equal(new DateTime(2030, 1, 2, 4, 4, 5, DateTimeKind.Unspecified), second);
    }

    internal static async Task<object?> ScalarAsync(SqlConnection connection, string sql, bool async)
    {
        using var command = new SqlCommand(sql, connection);
        return async ? await command.ExecuteScalarAsync() : command.ExecuteScalar();
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = Environment.TickCount64 + 20_000;
        while (!condition())
        {
            Assert.True(Environment.TickCount64 < deadline, "The condition did not become true within 20 s.");
            await Task.Delay(10);
        }
    }

    public sealed record DapperRow(int N, long Big, string Name, DateTime At, bool Flag, double Ratio, decimal Price, Guid Id, int? Nothing);
}

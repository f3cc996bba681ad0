using Microsoft.Data.SqlClient;

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
}

using Microsoft.Data.SqlClient;

namespace SafeSql.Testing.Tests;

public sealed class LoopbackSqlServerCountersTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TcpConnectionsAccepted_20000PooledOpens_OneConnectionAndResetPerReuse(bool async)
    {
        // Arrange
        const int opens = 20_000;
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = server.ConnectionString + ";Application Name=" + Guid.NewGuid();

        // Act
        for (var i = 0; i < opens; i++)
        {
            await using var connection = new SqlConnection(connectionString);
            await LoopbackSqlServerFaultsTests.OpenAsync(connection, async);
            Assert.Equal(1, await LoopbackSqlServerTests.ScalarAsync(connection, "SELECT 1", async));
        }

        // Assert
        Assert.Equal(1, server.Counters.TcpConnectionsAccepted);
        Assert.Equal(1, server.Counters.Logins);
        Assert.Equal(opens, server.Counters.Batches);
        Assert.Equal(opens - 1, server.Counters.ResetConnections);
        Assert.Equal(1, server.Counters.OpenConnections);
        Assert.Null(server.LastSessionFault);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TcpConnectionsAccepted_200UnpooledOpens_200Connections(bool async)
    {
        // Arrange
        const int opens = 200;
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = new SqlConnectionStringBuilder(server.ConnectionString) { Pooling = false }.ConnectionString;

        // Act
        for (var i = 0; i < opens; i++)
        {
            await using var connection = new SqlConnection(connectionString);
            await LoopbackSqlServerFaultsTests.OpenAsync(connection, async);
            Assert.Equal(1, await LoopbackSqlServerTests.ScalarAsync(connection, "SELECT 1", async));
        }

        // Assert
        Assert.Equal(opens, server.Counters.TcpConnectionsAccepted);
        Assert.Equal(opens, server.Counters.Logins);
        Assert.Equal(0, server.Counters.ResetConnections);
        await LoopbackSqlServerTests.WaitUntilAsync(() => server.Counters.OpenConnections == 0);
    }

    [Fact]
    public async Task BytesReceivedAndSent_OneQuery_CountWholePackets()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString + ";Application Name=" + Guid.NewGuid());
        await connection.OpenAsync();
        var received = server.Counters.BytesReceived;
        var sent = server.Counters.BytesSent;

        // Act
        await LoopbackSqlServerTests.ScalarAsync(connection, "SELECT 1", async: true);

        // Assert: batch = 8-byte header + 22 bytes ALL_HEADERS + "SELECT 1" in UTF-16; reply = 8-byte header + 29 bytes.
        Assert.Equal(8 + 22 + 16, server.Counters.BytesReceived - received);
        Assert.Equal(8 + 29, server.Counters.BytesSent - sent);
    }

    [Fact]
    public async Task Logins_Open_RecordsLogin7Fields()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var builder = new SqlConnectionStringBuilder(server.ConnectionString)
        {
            InitialCatalog = "Orders",
            ApplicationName = "SafeSql.Tests",
            WorkstationID = "build-agent-7",
            PacketSize = 16384,
        };
        await using var connection = new SqlConnection(builder.ConnectionString);

        // Act
        await connection.OpenAsync();

        // Assert
        var login = Assert.Single(server.Logins);
        Assert.Equal("sa", login.UserName);
        Assert.Equal(LoopbackSqlServerOptions.DefaultPassword, login.Password);
        Assert.Equal("Orders", login.Database);
        Assert.Equal("SafeSql.Tests", login.ApplicationName);
        Assert.Equal("build-agent-7", login.HostName);
        Assert.Equal(16384, login.PacketSize);
        Assert.True(login.Succeeded);
        Assert.Equal(connection.ServerProcessId, login.SessionId);
        Assert.Equal("Orders", connection.Database);
        Assert.Equal(16384, connection.PacketSize);
        Assert.DoesNotContain(login.Password, login.ToString(), StringComparison.Ordinal);
    }
}

using System.Net;
using System.Net.Sockets;
using Microsoft.Data.SqlClient;

namespace SafeSql.Testing.Tests;

public sealed class LoopbackSqlServerLifetimeTests
{
    [Fact]
    public async Task DisposeAsync_WithOpenConnections_LeavesNoListenerAndNoSessionTask()
    {
        // Arrange
        var server = await LoopbackSqlServer.StartAsync();
        var port = server.Port;
        var clients = new List<SqlConnection>();
        for (var i = 0; i < 3; i++)
        {
            var connection = new SqlConnection(LoopbackSqlServerFaultsTests.Unpooled(server));
            await connection.OpenAsync();
            clients.Add(connection);
        }

        var running = new SqlCommand("WAITFOR DELAY '00:05:00'", clients[0]).ExecuteNonQueryAsync();
        await LoopbackSqlServerTests.WaitUntilAsync(() => server.Counters.Batches == 1);
        Assert.Equal(3, server.RunningSessionCount);

        // Act
        await server.DisposeAsync();

        // Assert
        Assert.Equal(0, server.RunningSessionCount);
        Assert.Null(server.LastSessionFault);
        Assert.False(server.IsAcceptLoopRunning);
        Assert.Equal(0, server.Counters.OpenConnections);
        await Assert.ThrowsAsync<SqlException>(() => running);
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync(IPAddress.Loopback, port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        using var rebind = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        rebind.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        rebind.Bind(new IPEndPoint(IPAddress.Loopback, port));
        rebind.Listen();
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task DisposeAsync_CalledTwice_DoesNotThrow()
    {
        // Arrange
        var server = await LoopbackSqlServer.StartAsync();

        // Act
        await server.DisposeAsync();
        var second = await Record.ExceptionAsync(() => server.DisposeAsync().AsTask());

        // Assert
        Assert.Null(second);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => server.RestartAsync());
        Assert.Throws<ObjectDisposedException>(() => server.Faults.RefuseConnections = true);
    }

    [Fact]
    public async Task StartAsync_FixedPort_ListensOnThatPortAndBuildsConnectionString()
    {
        // Arrange
        int port;
        using (var free = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            free.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)free.LocalEndPoint!).Port;
        }

        // Act
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Port = port, UserName = "app", Password = "p;w=d" });

        // Assert
        Assert.Equal(port, server.Port);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, port), server.EndPoint);
        Assert.Equal($"Data Source=tcp:127.0.0.1,{port};User ID=app;Password=\"p;w=d\";Server Certificate={server.CertificatePath};Connect Retry Count=0", server.ConnectionString);
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        Assert.Equal("p;w=d", Assert.Single(server.Logins).Password);
    }

    [Fact]
    public async Task StartAsync_PortOfRunningServer_ThrowsAddressAlreadyInUse()
    {
        // Arrange: the listener sets SO_REUSEADDR only (not SO_REUSEPORT), so a second server cannot share the port.
        await using var first = await LoopbackSqlServer.StartAsync();

        // Act
        var ex = await Assert.ThrowsAsync<SocketException>(() => LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Port = first.Port }));

        // Assert
        Assert.Equal(SocketError.AddressAlreadyInUse, ex.SocketErrorCode);
    }

    [Fact]
    public async Task StartAsync_InvalidOptions_ThrowsWithParameterName()
    {
        // Act
        var backlog = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { ListenBacklog = 0 }));
        var port = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Port = 70000 }));

        // Assert
        Assert.Equal("options.ListenBacklog", backlog.ParamName);
        Assert.Equal("options.Port", port.ParamName);
    }

    [Fact]
    public async Task StartAsync_EncryptionNotSupported_BuildsConnectionStringWithEncryptFalse()
    {
        // Act
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Encryption = LoopbackEncryption.NotSupported });

        // Assert
        Assert.Equal($"Data Source=tcp:127.0.0.1,{server.Port};User ID=sa;Password=SafeSql-Loopback-1;Encrypt=False;Connect Retry Count=0", server.ConnectionString);
        Assert.Null(server.Certificate);
        Assert.Null(server.CertificatePath);
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        Assert.Equal(LoopbackConnectionEncryption.None, Assert.Single(server.Logins).Encryption);
        Assert.Equal(0, server.Counters.TlsHandshakes);
    }

    [Fact]
    public async Task Open_EncryptTrueAgainstServerWithoutEncryption_ThrowsServerDoesNotSupportEncryption()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Encryption = LoopbackEncryption.NotSupported });
        var builder = new SqlConnectionStringBuilder(server.ConnectionString) { Encrypt = true, Pooling = false };

        // Act
        var ex = await LoopbackSqlServerFaultsTests.OpenFailsAsync(builder.ConnectionString, async: true);

        // Assert
        Assert.Equal(20, ex.Number);
        Assert.Equal(20, ex.Class);
        Assert.Contains("The instance of SQL Server you attempted to connect to does not support encryption.", ex.Message, StringComparison.Ordinal);
    }
}

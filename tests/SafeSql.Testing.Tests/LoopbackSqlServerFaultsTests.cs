using System.ComponentModel;
using System.Data;
using System.Net.Sockets;
using System.Diagnostics;
using Microsoft.Data.SqlClient;

namespace SafeSql.Testing.Tests;

public sealed class LoopbackSqlServerFaultsTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RefuseConnections_True_OpenThrowsConnectionRefused(bool async)
    {
        // SqlClient retries a refused TCP connect until Connect Timeout runs out (SqlInternalConnectionTds.LoginNoFailover),
        // so the error surfaces after about Connect Timeout: 2 s here.
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.RefuseConnections = true;

        // Act
        var ex = await OpenFailsAsync(Unpooled(server, connectTimeoutSeconds: 2), async);

        // Assert: SqlClient 6.1+ on Linux loses the ECONNREFUSED (it reads Socket.Connected, which consumes the pending
        // error, before SO_ERROR): Number 0 and an inner SocketException whose code is Success.
        Assert.Equal(0, ex.Number);
        Assert.Equal(20, ex.Class);
        Assert.Equal(RefusedMessage, ex.Message);
        Assert.Equal(SocketError.Success, Assert.IsType<SocketException>(ex.InnerException).SocketErrorCode);
        Assert.Equal(0, server.Counters.TcpConnectionsAccepted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RefuseConnections_BackToFalse_ListensAgainOnSamePort(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var port = server.Port;
        server.Faults.RefuseConnections = true;
        await OpenFailsAsync(Unpooled(server, connectTimeoutSeconds: 2), async);

        // Act
        server.Faults.RefuseConnections = false;
        await using var connection = new SqlConnection(Unpooled(server));
        await OpenAsync(connection, async);

        // Assert
        Assert.Equal(port, server.Port);
        Assert.Equal(1, await LoopbackSqlServerTests.ScalarAsync(connection, "SELECT 1", async));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ResetOnAccept_True_OpenThrowsPreLoginTransportError(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.ResetOnAccept = true;

        // Act
        var ex = await OpenFailsAsync(Unpooled(server), async);

        // Assert
        // The RST races the client's PRELOGIN write: SqlClient reports it from the write or from the read, as it does
        // against a real server that resets; both are Number 0, Class 20.
        Assert.Equal(0, ex.Number);
        Assert.Equal(20, ex.Class);
        Assert.True(
            ex.Message.StartsWith("A connection was successfully established with the server, but then an error occurred during the pre-login handshake.", StringComparison.Ordinal)
            || ex.Message.StartsWith("The client was unable to establish a connection because of an error during connection initialization process before login.", StringComparison.Ordinal),
            ex.Message);
        // SqlClient 6.1+ treats a reset in the connect phase as a failed attempt and may connect again within Connect
        // Timeout (LoginNoFailover); every connection is reset, so none logs in.
        Assert.InRange(server.Counters.TcpConnectionsAccepted, 1, 16);
        Assert.Equal(0, server.Counters.Logins);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ResetDuringLogin_True_OpenThrowsLoginTransportError(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.ResetDuringLogin = true;

        // Act
        var ex = await OpenFailsAsync(Unpooled(server), async);

        // Assert
        Assert.Equal(0, ex.Number);
        Assert.Equal(20, ex.Class);
        Assert.Equal(
            "A connection was successfully established with the server, but then an error occurred during the login process. (provider: TCP Provider, error: 35 - An internal exception was caught)",
            ex.Message);
        Assert.IsType<IOException>(ex.InnerException);
        Assert.Equal(0, server.Counters.Logins);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task IgnorePrelogin_True_OpenThrowsConnectTimeout(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.IgnorePrelogin = true;

        // Act
        var ex = await OpenFailsAsync(Unpooled(server, connectTimeoutSeconds: 1), async);

        // Assert
        Assert.Equal(-2, ex.Number);
        Assert.Equal(11, ex.Class);
        Assert.StartsWith(
            "Connection Timeout Expired.  The timeout period elapsed while attempting to consume the pre-login handshake acknowledgement.",
            ex.Message,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LoginDelay_LongerThanConnectTimeout_OpenThrowsConnectTimeout(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.LoginDelay = TimeSpan.FromSeconds(30);

        // Act: 3 s, because SqlClient passes the time remaining at LOGIN7 to the login read in whole seconds (below 1 s it
        // rounds to 0 = no timeout), and a loaded machine may spend a second before that.
        var ex = await OpenFailsAsync(Unpooled(server, connectTimeoutSeconds: 3), async);

        // Assert
        Assert.Equal(-2, ex.Number);
        Assert.Equal(11, ex.Class);
        Assert.StartsWith("Connection Timeout Expired.  The timeout period elapsed during the post-login phase.", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LoginDelay_ShorterThanConnectTimeout_OpenWaitsThenSucceeds(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.LoginDelay = TimeSpan.FromMilliseconds(300);
        await using var connection = new SqlConnection(Unpooled(server));
        var stopwatch = Stopwatch.StartNew();

        // Act
        await OpenAsync(connection, async);

        // Assert
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromMilliseconds(290), $"Open took {stopwatch.Elapsed}.");
        Assert.Equal(ConnectionState.Open, connection.State);
    }

    [Theory]
    [InlineData(false, 18456, 14)]
    [InlineData(true, 18456, 14)]
    [InlineData(false, 40613, 17)]
    [InlineData(true, 40613, 17)]
    [InlineData(true, 4060, 11)]
    [InlineData(true, 40501, 20)]
    public async Task FailLoginsWithError_Number_OpenThrowsThatNumberAndClass(bool async, int number, int expectedClass)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = number;

        // Act
        var ex = await OpenFailsAsync(Unpooled(server), async);

        // Assert
        Assert.Equal(number, ex.Number);
        Assert.Equal(expectedClass, ex.Class);
        Assert.Equal(1, server.Counters.FailedLogins);
        Assert.Equal(0, server.Counters.Logins);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task KillAllConnections_InUseConnection_NextCommandThrowsTransportError(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(server.ConnectionString + ";Application Name=" + Guid.NewGuid());
        await OpenAsync(connection, async);

        // Act
        var killed = server.Faults.KillAllConnections();
        await LoopbackSqlServerTests.WaitUntilAsync(() => server.Counters.OpenConnections == 0);
        var ex = await Assert.ThrowsAsync<SqlException>(() => LoopbackSqlServerTests.ScalarAsync(connection, "SELECT 1", async));

        // Assert
        Assert.Equal(1, killed);
        Assert.Equal(0, ex.Number);
        Assert.Equal(20, ex.Class);
        Assert.Equal(
            "A transport-level error has occurred when sending the request to the server. (provider: TCP Provider, error: 35 - An internal exception was caught)",
            ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task KillAllConnections_IdlePooledConnection_NextOpenReplacesIt(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = server.ConnectionString + ";Application Name=" + Guid.NewGuid();
        await using (var first = new SqlConnection(connectionString))
        {
            await OpenAsync(first, async);
        }

        // Act: SqlClient polls an idle pooled connection before handing it out when its last I/O is older than 5 ms
        // (DbConnectionPool.GetConnection -> TdsParserStateObject.IsConnectionAlive, CheckConnectionWindow), finds the reset
        // socket and opens a new one.
        server.Faults.KillAllConnections();
        await LoopbackSqlServerTests.WaitUntilAsync(() => server.Counters.OpenConnections == 0);
        await Task.Delay(100);
        await using var second = new SqlConnection(connectionString);
        await OpenAsync(second, async);
        var result = await LoopbackSqlServerTests.ScalarAsync(second, "SELECT 1", async);

        // Assert
        Assert.Equal(1, result);
        Assert.Equal(2, server.Counters.TcpConnectionsAccepted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StopAsync_ThenRestartAsync_RefusesThenServesOnSamePort(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var port = server.Port;
        await using (var before = new SqlConnection(Unpooled(server)))
        {
            await OpenAsync(before, async);
            await server.StopAsync();

            // Assert: the open connection was closed by the server, new connects are refused.
            await Assert.ThrowsAsync<SqlException>(() => LoopbackSqlServerTests.ScalarAsync(before, "SELECT 1", async));
        }

        var refused = await OpenFailsAsync(Unpooled(server, connectTimeoutSeconds: 2), async);
        Assert.Equal(20, refused.Class);
        Assert.Equal(RefusedMessage, refused.Message);
        Assert.Equal(0, server.Counters.OpenConnections);

        // Act
        await server.RestartAsync();
        await using var after = new SqlConnection(Unpooled(server));
        await OpenAsync(after, async);

        // Assert
        Assert.Equal(port, server.Port);
        Assert.Equal(1, await LoopbackSqlServerTests.ScalarAsync(after, "SELECT 1", async));
    }

    [SkippableFact]
    public async Task AcceptDelay_BurstOverSmallBacklog_KernelOverflowsAndOpensFail()
    {
        // Linux default net.ipv4.tcp_abort_on_overflow=0: a full accept queue makes the kernel drop the client's handshake
        // ACK (the client believes it is connected, sends PRELOGIN and waits); with 1 it answers RST instead (refused).
        Skip.IfNot(OperatingSystem.IsLinux(), "Reads Linux /proc/net/netstat.");
        Skip.If(ReadSysctl("net/ipv4/tcp_abort_on_overflow") == "1", "tcp_abort_on_overflow=1 here: the burst is refused (RST) instead.");

        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { ListenBacklog = 1 });
        server.Faults.AcceptDelay = TimeSpan.FromSeconds(30);
        var connectionString = Unpooled(server, connectTimeoutSeconds: 2);
        var overflowsBefore = ReadListenOverflows();

        // Act: 8 simultaneous opens (sync, each on its own thread: SqlClient serializes async unpooled opens).
        var burst = Enumerable.Range(0, 8)
            .Select(_ => Task.Factory.StartNew(() => Record.Exception(() => new SqlConnection(connectionString).Open()), TaskCreationOptions.LongRunning))
            .ToArray();
        var errors = await Task.WhenAll(burst);

        // Assert: the accept already pending when the delay was set may take one connection; every other open times out.
        var succeeded = errors.Count(e => e is null);
        Assert.InRange(succeeded, 0, 1);
        // A connection whose SYN the kernel dropped never connects: a TCP connect timeout (SqlClient 6.1+: Number 258, Class 20,
        // inner Win32Exception 258); one whose final ACK was dropped looks connected to the client, which then times out
        // waiting for the PRELOGIN reply (-2).
        var kinds = errors.Where(e => e is not null).Select(e =>
        {
            var ex = Assert.IsType<SqlException>(e);
            if (ex.Number == -2)
            {
                Assert.Equal(11, ex.Class);
                Assert.StartsWith(
                    "Connection Timeout Expired.  The timeout period elapsed while attempting to consume the pre-login handshake acknowledgement.",
                    ex.Message,
                    StringComparison.Ordinal);
                return "pre-login timeout";
            }

            Assert.Equal(258, ex.Number);
            Assert.Equal(20, ex.Class);
            Assert.Equal(258, Assert.IsType<Win32Exception>(ex.InnerException).NativeErrorCode);
            return "connect timed out";
        }).ToList();
        Assert.Equal(errors.Length - succeeded, kinds.Count);
        Assert.True(ReadListenOverflows() > overflowsBefore, "The kernel's TcpExt ListenOverflows counter did not grow.");
        Assert.Equal(succeeded, server.Counters.TcpConnectionsAccepted);

        // The server recovers once it accepts at normal speed (fresh pool: the failed opens above were unpooled).
        server.Faults.AcceptDelay = TimeSpan.Zero;
        server.Faults.RefuseConnections = true;
        server.Faults.RefuseConnections = false;
        await using var connection = new SqlConnection(Unpooled(server));
        await connection.OpenAsync();
        Assert.Equal(ConnectionState.Open, connection.State);
    }

    internal static string ReadSysctl(string name) => File.ReadAllText("/proc/sys/" + name).Trim();

    /// <summary>Reads TcpExt ListenOverflows from /proc/net/netstat: how often a listen queue was full (this network namespace).</summary>
    internal static long ReadListenOverflows()
    {
        var lines = File.ReadAllLines("/proc/net/netstat");
        for (var i = 0; i + 1 < lines.Length; i++)
        {
            if (lines[i].StartsWith("TcpExt:", StringComparison.Ordinal))
            {
                var names = lines[i].Split(' ');
                var values = lines[i + 1].Split(' ');
                return long.Parse(values[Array.IndexOf(names, "ListenOverflows")], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException("TcpExt ListenOverflows not found in /proc/net/netstat.");
    }

    /// <summary>What SqlClient 6.1+ on Linux says when the TCP connect is refused (the socket error itself is lost).</summary>
    internal const string RefusedMessage =
        "A network-related or instance-specific error occurred while establishing a connection to SQL Server. The server was not found or was not accessible. Verify that the instance name is correct and that SQL Server is configured to allow remote connections. (provider: TCP Provider, error: 35 - An internal exception was caught)";

    internal static string Unpooled(LoopbackSqlServer server, int connectTimeoutSeconds = 15) =>
        new SqlConnectionStringBuilder(server.ConnectionString) { Pooling = false, ConnectTimeout = connectTimeoutSeconds }.ConnectionString;

    internal static async Task OpenAsync(SqlConnection connection, bool async)
    {
        if (async)
        {
            await connection.OpenAsync();
        }
        else
        {
            connection.Open();
        }
    }

    internal static async Task<SqlException> OpenFailsAsync(string connectionString, bool async)
    {
        await using var connection = new SqlConnection(connectionString);
        return async
            ? await Assert.ThrowsAsync<SqlException>(() => connection.OpenAsync())
            : Assert.Throws<SqlException>(() => connection.Open());
    }
}

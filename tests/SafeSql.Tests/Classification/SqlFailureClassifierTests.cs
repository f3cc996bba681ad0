using System.Net;
using System.Net.Sockets;

using Microsoft.Data.SqlClient;

using SafeSql.Testing;

namespace SafeSql.Tests.Classification;

/// <summary>
/// Every kind, produced by the real Microsoft.Data.SqlClient over real TCP against the loopback server's faults, then
/// classified. Each test has a server and a SqlClient pool of its own.
/// </summary>
public sealed partial class SqlFailureClassifierTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_PoolExhausted_ReturnsPoolTimeout(bool async)
    {
        // Arrange: Max Pool Size=2, both connections held, Connect Timeout=3 (the pool wait under test, long enough for the
        // two opens that must succeed on a loaded machine).
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => { b.MaxPoolSize = 2; b.ConnectTimeout = 3; });
        await using var first = await OpenAsync(connectionString, async);
        await using var second = await OpenAsync(connectionString, async);

        // Act
        var exception = await CaptureOpenFailureAsync(connectionString, async);
        var failure = SqlFailureClassifier.Classify(exception, DataSource(server));

        // Assert
        Assert.IsType<InvalidOperationException>(exception);
        Assert.Equal(SqlFailureKind.PoolTimeout, failure.Kind);
        Assert.False(failure.IsTransient);
        Assert.False(failure.MayHaveExecuted);
        Assert.Null(failure.SqlErrorNumber);
        Assert.Same(exception, failure.Exception);
        Assert.StartsWith("The connection pool timed out: every pooled connection stayed in use for the whole Connect Timeout", failure.Explanation, StringComparison.Ordinal);
        AssertSafe(failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_SafeSqlPoolExhaustedException_ReturnsPoolTimeoutFromItsType(bool async)
    {
        // Arrange: the factory rethrows SqlClient's pool timeout as SqlConnectionPoolExhaustedException (original inside).
        await using var server = await LoopbackSqlServer.StartAsync();
        var options = new SafeSqlOptions { ConnectionString = ConnectionString(server, b => { b.MaxPoolSize = 2; b.ConnectTimeout = 3; }) };
        await using var factory = new SafeSqlDataSource($"pool-{Guid.NewGuid():N}", options);
        await using var first = await factory.OpenConnectionAsync();
        await using var second = await factory.OpenConnectionAsync();

        // Act
        Exception exception;
        if (async)
        {
            exception = await Assert.ThrowsAsync<SqlConnectionPoolExhaustedException>(async () => await factory.OpenConnectionAsync());
        }
        else
        {
            exception = Assert.Throws<SqlConnectionPoolExhaustedException>(() => factory.OpenConnection());
        }

        var failure = SqlFailureClassifier.Classify(exception);
        factory.ClearPool();

        // Assert: decided by SafeSql's own type (the wrapper is the decisive exception), not by the inner exception's text.
        Assert.Equal(SqlFailureKind.PoolTimeout, failure.Kind);
        Assert.False(failure.IsTransient);
        Assert.Same(exception, failure.Exception);
        Assert.IsType<InvalidOperationException>(exception.InnerException);
        AssertSafe(failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_ServerStopped_ReturnsConnectionRefusedCorroboratedByTheProbe(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => b.ConnectTimeout = 1);
        await server.StopAsync();

        // Act
        var exception = await CaptureOpenFailureAsync(connectionString, async);
        var failure = SqlFailureClassifier.ClassifyOpenFailure(exception, DataSource(server));

        // Assert: SqlClient 6.1+ on Linux loses the refusal's error code: Number 0, class 20, "TCP Provider, error: 35", an
        // inner SocketException whose code is Success. The diagnostic connect decides.
        var sql = Assert.IsType<SqlException>(exception);
        Assert.Equal(0, sql.Number);
        Assert.Equal(20, sql.Class);
        Assert.Contains("(provider: TCP Provider, error: 35 - An internal exception was caught)", sql.Message, StringComparison.Ordinal);
        Assert.Equal(SocketError.Success, Assert.IsType<SocketException>(sql.InnerException).SocketErrorCode);
        Assert.Equal(SqlFailureKind.ConnectionRefused, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.False(failure.MayHaveExecuted);
        Assert.Equal(SocketError.ConnectionRefused, failure.SocketError);
        Assert.NotNull(failure.TcpSnapshot);
        Assert.False(failure.TcpSnapshot.IndicatesExhaustion);
        Assert.Equal(server.EndPoint, failure.TcpSnapshot.RemoteEndPoint);
        Assert.Contains($"A diagnostic connect to 127.0.0.1:{server.Port} was refused (ECONNREFUSED)", failure.Explanation, StringComparison.Ordinal);
        Assert.Contains("so this is a refusal, not port exhaustion", failure.Explanation, StringComparison.Ordinal);
        AssertSafe(failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_ServerStoppedEndPointUnknown_ReturnsConnectionRefusedFromMachineWideCounts(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => b.ConnectTimeout = 1);
        await server.StopAsync();

        // Act
        var exception = await CaptureOpenFailureAsync(connectionString, async);
        var failure = SqlFailureClassifier.Classify(exception);

        // Assert: no endpoint, no diagnostic connect; the machine-wide counts rule exhaustion out.
        Assert.Equal(SqlFailureKind.ConnectionRefused, failure.Kind);
        Assert.Null(failure.SocketError);
        Assert.Contains("Without the server's endpoint SafeSql could not probe it (pass the Data Source to the classifier)", failure.Explanation, StringComparison.Ordinal);
        AssertSafe(failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_ConnectBurstAgainstTinyBacklog_EveryFailureIsATransientConnectFailure(bool async)
    {
        // Arrange: backlog 1 and a slow accept loop; 24 opens at once, each on a pool of its own (a pool creates one
        // connection at a time). On Linux the kernel completes handshakes it cannot queue or drops SYNs, so the client sees
        // pre-login timeouts, or TCP connect timeouts (258) that the diagnostic connect, accepted by the slow but live server,
        // shows to be listen-backlog overflow; with tcp_abort_on_overflow=1 it would see resets; with the listener gone, refusals.
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { ListenBacklog = 1 });
        server.Faults.AcceptDelay = TimeSpan.FromMilliseconds(500);
        var attempts = Enumerable.Range(0, 24).Select(_ => ConnectionString(server, b => b.ConnectTimeout = 2)).ToArray();

        // Act
        async Task<SqlFailure?> AttemptAsync(string cs)
        {
            try
            {
                await using var connection = await OpenAsync(cs, async);
                return null;
            }
            catch (Exception ex)
            {
                return SqlFailureClassifier.ClassifyOpenFailure(ex, DataSource(server));
            }
        }

        // Synchronous opens each get a thread of their own (LongRunning) so the burst is not throttled by the thread pool.
        var outcomes = await Task.WhenAll(attempts.Select(cs => async
            ? AttemptAsync(cs)
            : Task.Factory.StartNew(() => AttemptAsync(cs).GetAwaiter().GetResult(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
        server.Faults.AcceptDelay = TimeSpan.Zero;

        // Assert
        var failures = outcomes.OfType<SqlFailure>().ToArray();
        Assert.NotEmpty(failures);
        Assert.All(failures, failure =>
        {
            Assert.Contains(failure.Kind, new[] { SqlFailureKind.ConnectTimeout, SqlFailureKind.ListenBacklogOverflow, SqlFailureKind.ConnectionRefused, SqlFailureKind.ConnectionBroken });
            Assert.True(failure.IsTransient);
            Assert.False(failure.MayHaveExecuted);
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_ServerIgnoresPrelogin_ReturnsConnectTimeoutFromStackFramesAlone(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.IgnorePrelogin = true;
        var connectionString = ConnectionString(server, b => b.ConnectTimeout = 1);

        // Act: no phase hint: the classifier must tell -2 during login from -2 during a command by itself.
        var exception = await CaptureOpenFailureAsync(connectionString, async);
        var failure = SqlFailureClassifier.Classify(exception);

        // Assert
        var sql = Assert.IsType<SqlException>(exception);
        Assert.Equal(-2, sql.Number);
        Assert.Equal(SqlFailureKind.ConnectTimeout, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.False(failure.MayHaveExecuted);
        Assert.Equal(-2, failure.SqlErrorNumber);
        Assert.Equal(SqlFailureKind.ConnectTimeout, SqlFailureClassifier.ClassifyOpenFailure(exception, null).Kind);
        AssertSafe(failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_CommandRunsPastCommandTimeout_ReturnsCommandTimeoutThatMayHaveExecuted(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = await OpenAsync(ConnectionString(server), async);
        await using var command = new SqlCommand("WAITFOR DELAY '00:00:05'", connection) { CommandTimeout = 1 };

        // Act
        var exception = await CaptureAsync(async () =>
        {
            if (async)
            {
                await command.ExecuteNonQueryAsync();
            }
            else
            {
                command.ExecuteNonQuery();
            }
        });
        var failure = SqlFailureClassifier.Classify(exception);

        // Assert: same Number (-2) and class (11) as a connect timeout; the stack frames (SqlCommand) decide.
        var sql = Assert.IsType<SqlException>(exception);
        Assert.Equal(-2, sql.Number);
        Assert.Equal(11, sql.Class);
        Assert.Equal(SqlFailureKind.CommandTimeout, failure.Kind);
        Assert.False(failure.IsTransient);
        Assert.True(failure.MayHaveExecuted);
        AssertSafe(failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_Deadlock1205_ReturnsTransientServerErrorThatMayHaveExecuted(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.BatchHandler = request => request.Sql.Contains("UPDATE", StringComparison.Ordinal)
            ? LoopbackResponse.Error(1205, 13, 51, "Transaction (Process ID 51) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.")
            : null;
        await using var connection = await OpenAsync(ConnectionString(server), async);
        await using var command = new SqlCommand("UPDATE Orders SET Total = 1", connection);

        // Act
        var exception = await CaptureAsync(() => ExecuteAsync(command, async));
        var failure = SqlFailureClassifier.Classify(exception);

        // Assert
        Assert.Equal(1205, Assert.IsType<SqlException>(exception).Number);
        Assert.Equal(SqlFailureKind.TransientServerError, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.True(failure.MayHaveExecuted);
        Assert.Equal(1205, failure.SqlErrorNumber);
        Assert.StartsWith("SQL Server reported transient error 1205: Transaction (Process ID) was deadlocked", failure.Explanation, StringComparison.Ordinal);
        AssertSafe(failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_Login40613_ReturnsTransientServerErrorRaisedDuringLogin(bool async)
    {
        // Arrange: Azure SQL's "database not currently available" during a failover, at login.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = 40613;

        // Act
        var exception = await CaptureOpenFailureAsync(ConnectionString(server), async);
        var failure = SqlFailureClassifier.Classify(exception);

        // Assert
        Assert.Equal(40613, Assert.IsType<SqlException>(exception).Number);
        Assert.Equal(SqlFailureKind.TransientServerError, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.False(failure.MayHaveExecuted);
        Assert.EndsWith("it was raised during login, so nothing was executed and retrying is safe.", failure.Explanation, StringComparison.Ordinal);
        AssertSafe(failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_Login18456_ReturnsAuthenticationFailure(bool async)
    {
        // Arrange: a wrong password.
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => b.Password = "Wrong-Password-42");

        // Act
        var exception = await CaptureOpenFailureAsync(connectionString, async);
        var failure = SqlFailureClassifier.Classify(exception, DataSource(server));

        // Assert
        Assert.Equal(18456, Assert.IsType<SqlException>(exception).Number);
        Assert.Equal(SqlFailureKind.AuthenticationFailure, failure.Kind);
        Assert.False(failure.IsTransient);
        Assert.Equal(18456, failure.SqlErrorNumber);
        Assert.StartsWith("The login was rejected (SQL error 18456: Login failed for user). Retrying cannot help", failure.Explanation, StringComparison.Ordinal);
        Assert.DoesNotContain("Wrong-Password-42", failure.Explanation, StringComparison.Ordinal);
        AssertSafe(failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_SyntaxError102_ReturnsPermanent(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = await OpenAsync(ConnectionString(server), async);
        await using var command = new SqlCommand("SELEC 1", connection);

        // Act
        var exception = await CaptureAsync(() => ExecuteAsync(command, async));
        var failure = SqlFailureClassifier.Classify(exception);

        // Assert
        Assert.Equal(102, Assert.IsType<SqlException>(exception).Number);
        Assert.Equal(SqlFailureKind.Permanent, failure.Kind);
        Assert.False(failure.IsTransient);
        Assert.Equal(
            """SQL Server rejected the request with error 102 (severity 15). Retrying cannot change the outcome: fix the statement, the data or the schema (SqlException.Message has the server's text). Not retried.""",
            failure.Explanation);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_ServerKillsTheSession_ReturnsConnectionBrokenThatMayHaveExecuted(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = await OpenAsync(ConnectionString(server), async);
        Assert.Equal(1, server.Faults.KillAllConnections());
        await using var command = new SqlCommand("SELECT 1", connection);

        // Act
        var exception = await CaptureAsync(() => ExecuteAsync(command, async));
        var failure = SqlFailureClassifier.Classify(exception);

        // Assert: Number 0, class 20 again, but the connection existed (inner IOException/SocketException) and a command ran.
        var sql = Assert.IsType<SqlException>(exception);
        Assert.Equal(0, sql.Number);
        Assert.Equal(SqlFailureKind.ConnectionBroken, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.True(failure.MayHaveExecuted);
        AssertSafe(failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_ResetDuringLogin_ReturnsConnectionBrokenNothingExecuted(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.ResetDuringLogin = true;

        // Act
        var exception = await CaptureOpenFailureAsync(ConnectionString(server), async);
        var failure = SqlFailureClassifier.Classify(exception);

        // Assert
        Assert.Equal(SqlFailureKind.ConnectionBroken, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.False(failure.MayHaveExecuted);
        Assert.Equal(SocketError.ConnectionReset, failure.SocketError);
        AssertSafe(failure);
    }

    [Fact]
    public async Task Classify_SqlExceptionInsideAggregateException_WalksTheInnerExceptions()
    {
        // Arrange: Task.WhenAll wraps the real 18456 in an AggregateException.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = 18456;
        var open = Task.WhenAll(OpenAsync(ConnectionString(server), async: true));
        await Assert.ThrowsAsync<SqlException>(() => open);

        // Act
        var failure = SqlFailureClassifier.Classify(open.Exception!);

        // Assert
        Assert.IsType<AggregateException>(open.Exception);
        Assert.Equal(SqlFailureKind.AuthenticationFailure, failure.Kind);
        Assert.IsType<SqlException>(failure.Exception);
    }

    [Fact]
    public async Task Classify_OpenCanceledByCaller_ReturnsUnknownNotTransient()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var connection = new SqlConnection(ConnectionString(server));

        // Act
        var exception = await CaptureAsync(() => connection.OpenAsync(new CancellationToken(canceled: true)));
        var failure = SqlFailureClassifier.Classify(exception);

        // Assert
        Assert.IsAssignableFrom<OperationCanceledException>(exception);
        Assert.Equal(SqlFailureKind.Unknown, failure.Kind);
        Assert.False(failure.IsTransient);
        Assert.Equal("The operation was canceled by the caller; SafeSql does not retry a cancellation.", failure.Explanation);
    }

    [Fact]
    public void Classify_NotASqlServerFailure_ReturnsUnknown()
    {
        // Arrange: a real failure that has nothing to do with SQL Server.
        var exception = Assert.Throws<FormatException>(() => int.Parse("not a number", System.Globalization.CultureInfo.InvariantCulture));

        // Act
        var failure = SqlFailureClassifier.Classify(exception);

        // Assert
        Assert.Equal(SqlFailureKind.Unknown, failure.Kind);
        Assert.False(failure.IsTransient);
        Assert.Equal("FormatException is not a recognized SQL Server failure; SafeSql does not retry it.", failure.Explanation);
    }

    [Fact]
    public void Classify_NullException_ThrowsArgumentNullException()
    {
        // Act / Assert
        Assert.Equal("exception", Assert.Throws<ArgumentNullException>(() => SqlFailureClassifier.Classify(null!)).ParamName);
        Assert.Equal("exception", Assert.Throws<ArgumentNullException>(() => SqlFailureClassifier.Classify(null!, "tcp:127.0.0.1,1433")).ParamName);
        Assert.Equal("exception", Assert.Throws<ArgumentNullException>(() => SqlFailureClassifier.ClassifyForEndPoint(null!, new IPEndPoint(IPAddress.Loopback, 1433))).ParamName);
        Assert.Equal("exception", Assert.Throws<ArgumentNullException>(() => SqlFailureClassifier.ClassifyOpenFailure(null!, null)).ParamName);
    }

    internal static string ConnectionString(LoopbackSqlServer server, Action<SqlConnectionStringBuilder>? configure = null)
    {
        var builder = new SqlConnectionStringBuilder(server.ConnectionString) { ApplicationName = $"SafeSql.Tests.Classification.{Guid.NewGuid():N}" };
        configure?.Invoke(builder);
        return builder.ConnectionString;
    }

    internal static string DataSource(LoopbackSqlServer server) => $"tcp:127.0.0.1,{server.Port}";

    internal static async Task<SqlConnection> OpenAsync(string connectionString, bool async)
    {
        var connection = new SqlConnection(connectionString);
        try
        {
            if (async)
            {
                await connection.OpenAsync();
            }
            else
            {
                connection.Open();
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    internal static async Task<Exception> CaptureOpenFailureAsync(string connectionString, bool async) =>
        await CaptureAsync(async () =>
        {
            await using var connection = await OpenAsync(connectionString, async);
        });

    internal static async Task<Exception> CaptureAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex)
        {
            return ex;
        }

        throw new Xunit.Sdk.XunitException("Expected the operation to fail, but it succeeded.");
    }

    internal static async Task ExecuteAsync(SqlCommand command, bool async)
    {
        if (async)
        {
            await command.ExecuteNonQueryAsync();
        }
        else
        {
            command.ExecuteNonQuery();
        }
    }

    private static void AssertSafe(SqlFailure failure)
    {
        Assert.DoesNotContain(LoopbackSqlServerOptions.DefaultPassword, failure.Explanation, StringComparison.Ordinal);
        Assert.Equal($"{failure.Kind}: {failure.Explanation}", failure.ToString());
    }
}

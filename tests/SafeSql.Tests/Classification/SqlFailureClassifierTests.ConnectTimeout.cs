using System.ComponentModel;
using System.Net.Sockets;

using Microsoft.Data.SqlClient;

using SafeSql.Tests.TestUtilities;

namespace SafeSql.Tests.Classification;

/// <summary>
/// The TCP connect timeout and the refusal with MultiSubnetFailover, as the supported SqlClient versions (6.1+) report them:
/// real connects towards a listener whose accept queue is full (the kernel drops the SYN) and towards a closed port.
/// </summary>
public sealed partial class SqlFailureClassifierTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClassifyOpenFailure_SynDroppedByAFullAcceptQueue_ReturnsTransientConnectTimeoutFrom258(bool async)
    {
        // Arrange
        using var listener = await FullAcceptQueueListener.StartAsync();
        var connectionString = UnreachableConnectionString(listener.DataSource);

        // Act
        var exception = await CaptureOpenFailureAsync(connectionString, async);
        var failure = SqlFailureClassifier.ClassifyOpenFailure(exception, listener.DataSource);

        // Assert: SqlClient 6.1+ reports WAIT_TIMEOUT 258 with an inner Win32Exception "The connection attempt timed out."
        var sql = Assert.IsType<SqlException>(exception);
        Assert.Equal(258, sql.Number);
        Assert.Equal(20, sql.Class);
        Assert.Equal(258, Assert.IsType<Win32Exception>(sql.InnerException).NativeErrorCode);
        Assert.Equal(SqlFailureKind.ConnectTimeout, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.False(failure.MayHaveExecuted);
        Assert.Equal(258, failure.SqlErrorNumber);
        Assert.Equal(SocketError.TimedOut, failure.SocketError);
        Assert.StartsWith("The TCP connection to the server timed out (SqlClient 6.1+: SqlException Number 258", failure.Explanation, StringComparison.Ordinal);
        Assert.Equal(SqlFailureKind.ConnectTimeout, SqlFailureClassifier.Classify(exception).Kind);
        AssertSafe(failure);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClassifyOpenFailure_RefusedWithMultiSubnetFailover_ReturnsConnectionRefusedFrom10061(bool async)
    {
        // Arrange: a port that nothing listens on (bound, then closed).
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            port = ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;
        }

        var dataSource = $"tcp:127.0.0.1,{port}";
        var connectionString = UnreachableConnectionString(dataSource, b => b.MultiSubnetFailover = true);

        // Act
        var exception = await CaptureOpenFailureAsync(connectionString, async);
        var failure = SqlFailureClassifier.ClassifyOpenFailure(exception, dataSource);

        // Assert: the parallel connect path keeps the socket error: Number 10061, inner SocketException ConnectionRefused.
        var sql = Assert.IsType<SqlException>(exception);
        Assert.Equal(10061, sql.Number);
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(sql.InnerException).SocketErrorCode);
        Assert.Equal(SqlFailureKind.ConnectionRefused, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.Equal(10061, failure.SqlErrorNumber);
        Assert.StartsWith($"The server refused the TCP connection to 127.0.0.1:{port} (ECONNREFUSED, 10061)", failure.Explanation, StringComparison.Ordinal);
        AssertSafe(failure);
    }

    /// <summary>A string towards a server that is not the loopback TDS server: unpooled, Connect Timeout=2, no retry inside SqlClient.</summary>
    internal static string UnreachableConnectionString(string dataSource, Action<SqlConnectionStringBuilder>? configure = null)
    {
        var builder = new SqlConnectionStringBuilder
        {
            DataSource = dataSource,
            UserID = "sa",
            Encrypt = SqlConnectionEncryptOption.Optional,
            Pooling = false,
            ConnectTimeout = 2,
            ConnectRetryCount = 0,
            ApplicationName = $"SafeSql.Tests.Classification.{Guid.NewGuid():N}",
        };
        configure?.Invoke(builder);
        return builder.ConnectionString;
    }
}

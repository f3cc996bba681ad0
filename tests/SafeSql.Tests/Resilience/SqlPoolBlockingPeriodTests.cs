using Microsoft.Data.SqlClient;

using SafeSql.Resilience;
using SafeSql.Testing;

using static SafeSql.Tests.Classification.SqlFailureClassifierTests;

namespace SafeSql.Tests.Resilience;

public sealed class SqlPoolBlockingPeriodTests
{
    [Theory]
    [InlineData(0, 5)]
    [InlineData(1, 10)]
    [InlineData(2, 20)]
    [InlineData(3, 40)]
    [InlineData(4, 60)]
    [InlineData(9, 60)]
    public void After_AttemptNumber_DoublesFromFiveSecondsUpToSixty(int attemptNumber, int expectedSeconds)
    {
        // Act / Assert
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), SqlPoolBlockingPeriod.After(attemptNumber));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("Data Source=tcp:127.0.0.1,1433", true)]
    [InlineData("Data Source=tcp:127.0.0.1,1433;Pooling=false", false)]
    [InlineData("Data Source=tcp:127.0.0.1,1433;Pool Blocking Period=NeverBlock", false)]
    [InlineData("Data Source=tcp:myserver.database.windows.net,1433", false)]
    [InlineData("Data Source=tcp:myserver.database.windows.net,1433;Pool Blocking Period=AlwaysBlock", true)]
    [InlineData(@"Data Source=myserver.database.chinacloudapi.cn\inst", false)]
    public void IsActive_ConnectionString_FollowsPoolingAndPoolBlockingPeriod(string? connectionString, bool expected)
    {
        // Act / Assert
        Assert.Equal(expected, SqlPoolBlockingPeriod.IsActive(connectionString is null ? null : new SqlConnectionStringBuilder(connectionString)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_RightAfterAFailedOpenWithBlockingOn_FailsWithoutReachingTheRestartedServer(bool async)
    {
        // Arrange: SqlClient's defaults (pooling, Pool Blocking Period=Auto, a non-Azure server): a failed open blocks the pool.
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => b.ConnectTimeout = 1);
        await server.StopAsync();
        var first = await CaptureOpenFailureAsync(connectionString, async);
        await server.RestartAsync();

        // Act: the server is back, but the pool rethrows (a copy of) the cached error without connecting.
        var second = await CaptureOpenFailureAsync(connectionString, async);

        // Assert
        Assert.Equal(0, Assert.IsType<SqlException>(first).Number);
        Assert.Equal(0, Assert.IsType<SqlException>(second).Number);
        Assert.NotSame(first, second);
        Assert.Equal(0, server.Counters.TcpConnectionsAccepted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_RightAfterAFailedOpenWithNeverBlock_ReachesTheRestartedServer(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => { b.ConnectTimeout = 1; b.PoolBlockingPeriod = PoolBlockingPeriod.NeverBlock; });
        await server.StopAsync();
        await CaptureOpenFailureAsync(connectionString, async);
        await server.RestartAsync();

        // Act
        await using var connection = await OpenAsync(connectionString, async);

        // Assert
        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
        Assert.Equal(1, server.Counters.TcpConnectionsAccepted);
    }
}

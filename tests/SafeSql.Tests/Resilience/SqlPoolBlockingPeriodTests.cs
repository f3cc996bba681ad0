using System.Diagnostics;

using Microsoft.Data.SqlClient;

using SafeSql.Testing;
using SafeSql.Tests.TestUtilities;

using static SafeSql.Tests.Classification.SqlFailureClassifierTests;

namespace SafeSql.Tests.Resilience;

[Trait(SqlClientPool.Trait, SqlClientPool.Sensitive)]
public sealed class SqlPoolBlockingPeriodTests
{
    // The second open must start this soon after the first failure to land inside SqlClient's 5 s blocking period.
    private static readonly TimeSpan s_blockingWindowMargin = TimeSpan.FromSeconds(3);

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

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_RightAfterAFailedOpenWithBlockingOn_FailsWithoutReachingTheRestartedServer(bool async)
    {
        // Arrange: SqlClient's defaults (pooling, Pool Blocking Period=Auto, a non-Azure server): a failed open blocks the pool
        // for SqlClient's real 5 s (a wall-clock timer inside SqlClient: the manual clock cannot hold it).
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = ConnectionString(server, b => b.ConnectTimeout = 1);
        await server.StopAsync();
        var first = await CaptureOpenFailureAsync(connectionString, async);
        var sinceFirstFailure = Stopwatch.StartNew();
        await server.RestartAsync();

        // A loaded machine can take most of the window to get here; the second open must start well inside it.
        Skip.If(
            sinceFirstFailure.Elapsed >= s_blockingWindowMargin,
            $"The restart took {sinceFirstFailure.ElapsedMilliseconds} ms: too close to the end of SqlClient's 5 s blocking period to test it.");

        // Act: the server is back, but the pool rethrows (a copy of) the cached error without connecting.
        Exception? second = null;
        try
        {
            await using var connection = await OpenAsync(connectionString, async);
        }
        catch (Exception ex)
        {
            second = ex;
        }

        Skip.If(
            second is null && sinceFirstFailure.Elapsed >= TimeSpan.FromSeconds(RetryDefaults.PoolBlockingPeriodInitialSeconds),
            $"The second open ended {sinceFirstFailure.ElapsedMilliseconds} ms after the first failure, after SqlClient's 5 s blocking period.");

        // Assert
        Assert.Equal(0, Assert.IsType<SqlException>(first).Number);
        Assert.Equal(0, Assert.IsType<SqlException>(second).Number); // also fails when the second open succeeded inside the window
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
        var connectionString = ConnectionString(server, b => { b.ConnectTimeout = 5; b.PoolBlockingPeriod = PoolBlockingPeriod.NeverBlock; });
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

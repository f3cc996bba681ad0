using SafeSql.Resilience;

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
        Assert.Equal(expected, SqlPoolBlockingPeriod.IsActive(connectionString));
    }
}

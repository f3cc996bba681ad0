using Microsoft.Data.SqlClient;

using SafeSql.Diagnostics;
using SafeSql.Tests.Leases;
using SafeSql.Tests.TestUtilities;

using static SafeSql.Tests.Classification.SqlFailureClassifierTests;

namespace SafeSql.Tests.Resilience;

public sealed partial class SqlConnectionFactoryTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_SynDroppedByAFullAcceptQueue_IsRetriedAsAConnectTimeoutThenRethrown(bool async)
    {
        // Arrange: every connect gets no answer (a host that is down or a firewall that drops); one retry, 10 ms apart, within a
        // budget that fits two Connect Timeouts (the default budget, one Connect Timeout, is spent by the first).
        using var listener = await FullAcceptQueueListener.StartAsync();
        var connectionString = UnreachableConnectionString(listener.DataSource, b => { b.Pooling = true; b.PoolBlockingPeriod = PoolBlockingPeriod.NeverBlock; });
        await using var harness = new FactoryHarness(connectionString, configureOptions: o => { o.OpenRetry!.MaxRetryAttempts = 1; o.OpenRetry.Delay = TimeSpan.FromMilliseconds(10); o.OpenTimeout = TimeSpan.FromSeconds(60); });

        // Act
        var exception = await CaptureAsync(async () => await harness.OpenAsync(async));

        // Assert: both attempts timed out in TCP connect (258), the first was retried, the original exception reached the caller.
        Assert.Equal(258, Assert.IsType<SqlException>(exception).Number);
        var attempts = harness.Logs.GetSnapshot().Where(r => r.Id.Id == SafeSqlEventId.OpenAttemptFailed).ToArray();
        Assert.Equal(2, attempts.Length);
        Assert.StartsWith($"Opening a connection of pool '{harness.Name}' failed (attempt 1): ConnectTimeout, SQL error 258, socket error TimedOut; will retry: True.", attempts[0].Message, StringComparison.Ordinal);
        Assert.Matches($@"^Retrying the open of pool '{harness.Name}' after ConnectTimeout in \d+ ms \(retry 1 of at most 1\)\.$", Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.OpenRetrying).Message);
        Assert.All(harness.Failures(), m => Assert.Equal("connect_timeout", m.Tags[SafeSqlMetrics.FailureKindTag]));
        Assert.Equal(2, harness.Failures().Count);
    }
}

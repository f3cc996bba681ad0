#pragma warning disable CA1859 // Tests call through ISqlConnectionFactory, as applications do.

using System.Data;
using System.Runtime.CompilerServices;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

using SafeSql.Diagnostics;
using SafeSql.Testing;
using SafeSql.Tests.TestUtilities;

using static SafeSql.Tests.TestUtilities.CallerInfo;

namespace SafeSql.Tests.Leases;

public sealed class SafeSqlDataSourceLeaseTests(LoopbackServerFixture fixture) : IClassFixture<LoopbackServerFixture>
{
    public static TheoryData<string, bool> CloseWays => new()
    {
        { "Dispose", false },
        { "Dispose", true },
        { "DisposeAsync", false },
        { "DisposeAsync", true },
        { "Close", false },
        { "Close", true },
        { "CloseAsync", false },
        { "CloseAsync", true },
        { "using", false },
        { "using", true },
    };

    [Theory]
    [MemberData(nameof(CloseWays))]
    public async Task Open_ThenClosedAnyWay_EndsLeaseWithoutReport(string closeWay, bool async)
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString());
        var factory = harness.Factory;

        // Act
        var leasedWhileOpen = -1;
        switch (closeWay)
        {
            case "using":
                using (var connection = async ? await factory.OpenConnectionAsync() : factory.OpenConnection())
                {
                    leasedWhileOpen = factory.GetPoolSnapshot().LeasedCount;
                }

                break;
            default:
                var opened = async ? await factory.OpenConnectionAsync() : factory.OpenConnection();
                leasedWhileOpen = factory.GetPoolSnapshot().LeasedCount;
                switch (closeWay)
                {
                    case "Dispose":
                        opened.Dispose();
                        break;
                    case "DisposeAsync":
                        await opened.DisposeAsync();
                        break;
                    case "Close":
                        opened.Close();
                        break;
                    default:
                        await opened.CloseAsync();
                        break;
                }

                break;
        }

        // Assert
        Assert.Equal(1, leasedWhileOpen);
        var snapshot = factory.GetPoolSnapshot();
        Assert.Equal(0, snapshot.LeasedCount);
        Assert.Null(snapshot.OldestLease);
        Assert.Empty(harness.Reports);
        Assert.Single(harness.UseTime.GetMeasurementSnapshot());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_RecordsCallSite_InPoolSnapshot(bool async)
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString(maxPoolSize: 7));

        // Act
        var (connection, line) = (async ? await harness.Factory.OpenConnectionAsync() : harness.Factory.OpenConnection(), CurrentLine());
        var snapshot = harness.Factory.GetPoolSnapshot();
        await connection.DisposeAsync();

        // Assert
        Assert.Equal(harness.Name, snapshot.PoolName);
        Assert.Equal(1, snapshot.LeasedCount);
        Assert.Equal(7, snapshot.MaxPoolSize);
        Assert.True(snapshot.Pooling);
        var callSite = snapshot.OldestLease?.CallSite;
        Assert.NotNull(callSite);
        Assert.Equal(ThisFilePath(), callSite.FilePath);
        Assert.Equal("SafeSqlDataSourceLeaseTests.cs", callSite.FileName);
        Assert.Equal(line, callSite.LineNumber);
        Assert.Equal(nameof(Open_RecordsCallSite_InPoolSnapshot), callSite.MemberName);
        Assert.Equal($"SafeSqlDataSourceLeaseTests.cs:{line} (Open_RecordsCallSite_InPoolSnapshot)", callSite.ToString());
        Assert.Null(snapshot.OldestLease!.StackTrace);
    }

    [Fact]
    public async Task GetPoolSnapshot_LeasesFromTwoCallSites_RanksThemByCountAndByAge()
    {
        // Arrange
        var time = new FakeTimeProvider();
        await using var harness = new FactoryHarness(fixture.ConnectionString(), timeProvider: time);
        var (old, siteA) = OpenAtSiteA(harness.Factory);
        time.Advance(TimeSpan.FromSeconds(5));
        var (young, siteB) = OpenThreeAtSiteB(harness.Factory);
        time.Advance(TimeSpan.FromSeconds(1));

        // Act
        var snapshot = harness.Factory.GetPoolSnapshot();

        // Assert
        Assert.Equal(4, snapshot.LeasedCount);
        Assert.Equal(TimeSpan.FromSeconds(6), snapshot.OldestLease!.HeldFor);
        Assert.Equal(time.GetUtcNow() - TimeSpan.FromSeconds(6), snapshot.OldestLease.OpenedAt);
        Assert.Equal(nameof(OpenAtSiteA), snapshot.OldestLease.CallSite!.MemberName);
        Assert.Equal(
            [$"SafeSqlDataSourceLeaseTests.cs:{siteB} (OpenThreeAtSiteB): 3 leases, oldest 1 s", $"SafeSqlDataSourceLeaseTests.cs:{siteA} (OpenAtSiteA): 1 lease, oldest 6 s"],
            snapshot.TopCallSitesByCount.Select(u => u.ToString()));
        Assert.Equal(
            [$"SafeSqlDataSourceLeaseTests.cs:{siteA} (OpenAtSiteA): 1 lease, oldest 6 s", $"SafeSqlDataSourceLeaseTests.cs:{siteB} (OpenThreeAtSiteB): 3 leases, oldest 1 s"],
            snapshot.TopCallSitesByAge.Select(u => u.ToString()));
        old.Dispose();
        foreach (var connection in young)
        {
            connection.Dispose();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_FatalServerError_EndsLeaseWhenSqlClientClosesTheConnection(bool async)
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString());
        var connection = async ? await harness.Factory.OpenConnectionAsync() : harness.Factory.OpenConnection();
        using var command = new SqlCommand("RAISERROR('fatal', 20, 1) WITH LOG", connection);

        // Act
        var error = async
            ? await Assert.ThrowsAsync<SqlException>(() => command.ExecuteNonQueryAsync())
            : Assert.Throws<SqlException>(() => command.ExecuteNonQuery());

        // Assert
        Assert.Equal(20, error.Class);
        Assert.Equal(ConnectionState.Closed, connection.State);
        Assert.Equal(0, harness.Factory.GetPoolSnapshot().LeasedCount);
        Assert.Empty(harness.Reports);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_PoolExhausted_ThrowsInvalidOperationExceptionNamingTheHolders(bool async)
    {
        // Arrange: Max Pool Size=3, every connection leased deliberately from one call site.
        await using var harness = new FactoryHarness(fixture.ConnectionString(maxPoolSize: 3, connectTimeout: 3));
        var held = new List<SqlConnection>();
        var holdLine = 0;
        for (var i = 0; i < 3; i++)
        {
            (var connection, holdLine) = HoldLease(harness.Factory);
            held.Add(connection);
        }

        // Act
        var exception = async
            ? await Assert.ThrowsAnyAsync<InvalidOperationException>(async () => await harness.Factory.OpenConnectionAsync())
            : Assert.ThrowsAny<InvalidOperationException>(() => harness.Factory.OpenConnection());

        // Assert
        var exhausted = Assert.IsType<SqlConnectionPoolExhaustedException>(exception);
        Assert.Equal(
            $"""Connection pool exhausted: 3 of Max Pool Size=3 leased; 3 held > 3 s, opened at SafeSqlDataSourceLeaseTests.cs:{holdLine} (HoldLease). Dispose connections; raising Max Pool Size only hides the leak. (SqlClient waited Connect Timeout=3 s for a free pooled connection; see InnerException.)""",
            exhausted.Message);
        var original = Assert.IsType<InvalidOperationException>(exhausted.InnerException);
        Assert.StartsWith("Timeout expired.  The timeout period elapsed prior to obtaining a connection from the pool.", original.Message, StringComparison.Ordinal);
        Assert.Equal(SqlFailureKind.PoolTimeout, SqlFailureClassifier.Classify(exhausted).Kind);
        Assert.Equal(3, exhausted.Snapshot!.LeasedCount);
        Assert.Equal(1, exhausted.Snapshot.PoolTimeouts);
        var log = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.PoolExhausted);
        Assert.Equal(LogLevel.Error, log.Level);
        Assert.Equal($"SafeSql pool '{harness.Name}': {exhausted.Message}", log.Message);
        var timeout = Assert.Single(harness.MeasurementsOf("db.client.connection.timeouts"));
        Assert.Equal(1, timeout.Value);

        // One detection, one log line, one metric: the open pipeline neither logs (3000-3003) nor counts it as a failure again.
        Assert.Single(harness.Logs.GetSnapshot(), r => r.Level >= LogLevel.Warning);
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Id is >= SafeSqlEventId.OpenAttemptFailed and < 3100);
        Assert.Empty(harness.Failures());
        foreach (var connection in held)
        {
            await connection.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_PoolTimeoutOfAPoolNotFullThroughSafeSql_IsRetriedOnceThenRethrown(bool async)
    {
        // Arrange: Max Pool Size=1, the one connection held by code that opens the same connection string without SafeSql, so
        // SafeSql leases none: the pool timeout is not a leak SafeSql can see but a wait behind something else (as behind a
        // connection SqlClient is still creating towards a server that does not answer). Retries: 3, 10 ms apart, within a 30 s
        // budget (the default budget, Connect Timeout, is spent by the first pool timeout).
        var connectionString = fixture.ConnectionString(maxPoolSize: 1, connectTimeout: 1);
        await using var harness = new FactoryHarness(connectionString, configureOptions: o => { o.OpenRetry!.MaxRetryAttempts = 3; o.OpenRetry.Delay = TimeSpan.FromMilliseconds(10); o.OpenTimeout = TimeSpan.FromSeconds(30); });
        await using var bypassing = new SqlConnection(harness.Factory.ConnectionStringWithPassword);
        await bypassing.OpenAsync();

        // Act
        var exception = async
            ? await Assert.ThrowsAnyAsync<InvalidOperationException>(async () => await harness.Factory.OpenConnectionAsync())
            : Assert.ThrowsAny<InvalidOperationException>(() => harness.Factory.OpenConnection());

        // Assert: two real pool timeouts, each reported once (1002, one count); the first retried, the second not.
        var exhausted = Assert.IsType<SqlConnectionPoolExhaustedException>(exception);
        Assert.Equal(0, exhausted.Snapshot!.LeasedCount);
        var failure = SqlFailureClassifier.Classify(exhausted);
        Assert.Equal(SqlFailureKind.PoolTimeout, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.StartsWith("The connection pool timed out although it was not full", failure.Explanation, StringComparison.Ordinal);
        var logs = harness.Logs.GetSnapshot();
        Assert.Equal(2, logs.Count(r => r.Id.Id == SafeSqlEventId.PoolExhausted));
        Assert.Equal(2, harness.MeasurementsOf("db.client.connection.timeouts").Sum(m => m.Value));
        Assert.Matches($@"^Retrying the open of pool '{harness.Name}' after PoolTimeout in \d+ ms \(retry 1 of at most 3\)\.$", Assert.Single(logs, r => r.Id.Id == SafeSqlEventId.OpenRetrying).Message);
        Assert.DoesNotContain(logs, r => r.Id.Id == SafeSqlEventId.OpenAttemptFailed);
        Assert.Empty(harness.Failures());
    }

    [Fact]
    public async Task Open_PoolExhaustedByTwoCallSites_NamesBothWithCounts()
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString(maxPoolSize: 4, connectTimeout: 3));
        var (first, siteA) = OpenAtSiteA(harness.Factory);
        var (others, siteB) = OpenThreeAtSiteB(harness.Factory);
        var held = new List<SqlConnection>(others) { first };

        // Act
        var exception = Assert.Throws<SqlConnectionPoolExhaustedException>(() => harness.Factory.OpenConnection());

        // Assert
        Assert.Equal(
            $"""Connection pool exhausted: 4 of Max Pool Size=4 leased; 4 held > 3 s, opened at SafeSqlDataSourceLeaseTests.cs:{siteB} (OpenThreeAtSiteB) 3 times, SafeSqlDataSourceLeaseTests.cs:{siteA} (OpenAtSiteA) 1 time. Dispose connections; raising Max Pool Size only hides the leak. (SqlClient waited Connect Timeout=3 s for a free pooled connection; see InnerException.)""",
            exception.Message);
        foreach (var connection in held)
        {
            connection.Dispose();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_FactoryDisposed_ThrowsObjectDisposedException(bool async)
    {
        // Arrange
        var harness = new FactoryHarness(fixture.ConnectionString());
        await harness.DisposeAsync();

        // Act
        var exception = async
            ? await Assert.ThrowsAsync<ObjectDisposedException>(async () => await harness.Factory.OpenConnectionAsync())
            : Assert.Throws<ObjectDisposedException>(() => harness.Factory.OpenConnection());

        // Assert
        Assert.Equal("SafeSql.SafeSqlDataSource", exception.ObjectName);
    }

    [Fact]
    [Trait(SqlClientPool.Trait, SqlClientPool.Sensitive)]
    public async Task Open_ServerSlowerThanConnectTimeoutAndConcurrentOpens_PoolTimeoutNamesSerialCreation()
    {
        // Arrange: every login takes longer than Connect Timeout. SqlClient creates pooled connections one at a time, so
        // the opens queued behind the first creation wait Connect Timeout and get the pool timeout, with nothing leased.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.LoginDelay = TimeSpan.FromSeconds(20);
        var connectionString = new SqlConnectionStringBuilder(server.ConnectionString)
        {
            ApplicationName = $"SafeSql.Tests.{Guid.NewGuid():N}",
            ConnectTimeout = 3,
            MaxPoolSize = 10,

            // Without a blocking period a failed creation hands the creation lock to the next waiter instead of failing
            // every waiter with its error, so the remaining waiters run out of time in the queue.
            PoolBlockingPeriod = PoolBlockingPeriod.NeverBlock,
        }.ConnectionString;
        var options = new SafeSqlOptions { ConnectionString = connectionString };
        options.OpenRetry = null;

        // Not the breaker's test: four timeouts at once would open it, and an open whose failure reaches it after that gets
        // CircuitOpen instead of its own error.
        options.CircuitBreaker = null;
        await using var factory = new SafeSqlDataSource($"slow-{Guid.NewGuid():N}", options);

        // Act: 4 sync opens on 4 threads at once.
        using var start = new Barrier(4);
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait();
                try
                {
                    factory.OpenConnection().Dispose();
                    return null;
                }
                catch (Exception ex)
                {
                    return ex;
                }
            },
            TaskCreationOptions.LongRunning)));

        // Assert: no open succeeded.
        Assert.All(outcomes, Assert.NotNull);
        if (SqlClientPool.IsV2)
        {
            // Pool v2 creates connections in parallel up to Max Pool Size (no creation lock): each open made its own login and
            // timed out in it (-2, post-login: the server's delay), and none waited in the pool.
            Assert.All(outcomes, e => Assert.Equal(-2, Assert.IsType<SqlException>(e).Number));
            Assert.Equal(4, server.Counters.TcpConnectionsAccepted);
            factory.ClearPool();
            return;
        }

        // Assert: those that timed out in the pool carry the new explanation.
        var poolTimeouts = outcomes.OfType<SqlConnectionPoolExhaustedException>().ToList();
        Assert.True(poolTimeouts.Count > 0, string.Join(" | ", outcomes.Select(o => o!.GetType().Name + ": " + o.Message)));
        Assert.All(poolTimeouts, e => Assert.StartsWith(
            """Connection pool exhausted: 0 of Max Pool Size=10 leased through SafeSql. Either code that opens the same connection string without SafeSql holds the other connections, or the pool is not full: SqlClient creates new pooled connections one at a time, so while the server is slow or unreachable, queued opens time out with this same message; the open failures logged before it (event 3000) tell which.""",
            e.Message,
            StringComparison.Ordinal));
        factory.ClearPool();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (SqlConnection Connection, int Line) HoldLease(SafeSqlDataSource factory) => (factory.OpenConnection(), CurrentLine());

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (SqlConnection Connection, int Line) OpenAtSiteA(SafeSqlDataSource factory) => (factory.OpenConnection(), CurrentLine());

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (List<SqlConnection> Connections, int Line) OpenThreeAtSiteB(SafeSqlDataSource factory)
    {
        var list = new List<SqlConnection>();
        var line = 0;
        for (var i = 0; i < 3; i++)
        {
            (var connection, line) = (factory.OpenConnection(), CurrentLine());
            list.Add(connection);
        }

        return (list, line);
    }
}

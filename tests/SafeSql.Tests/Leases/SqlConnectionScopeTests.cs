using System.Collections.Concurrent;
using System.Data;
using System.Runtime.CompilerServices;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

using SafeSql.Diagnostics;
using SafeSql.Testing;
using SafeSql.Tests.TestUtilities;

using static SafeSql.Tests.TestUtilities.CallerInfo;

namespace SafeSql.Tests.Leases;

public sealed class SqlConnectionScopeTests(LoopbackServerFixture fixture) : IClassFixture<LoopbackServerFixture>
{
    private const string Raiserror17 = "RAISERROR('boom', 17, 1)";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Dispose_ConnectionStillOpen_ReturnsItToThePoolAndReportsLeak(bool async)
    {
        // Arrange
        var time = new FakeTimeProvider();
        await using var harness = new FactoryHarness(fixture.ConnectionString(), timeProvider: time);
        var scope = harness.Factory.CreateScope();
        var (connection, line) = (async ? await scope.OpenConnectionAsync() : scope.OpenConnection(), CurrentLine());
        time.Advance(TimeSpan.FromSeconds(1.5));

        // Act
        if (async)
        {
            await scope.DisposeAsync();
        }
        else
        {
            scope.Dispose();
        }

        // Assert
        Assert.Equal(ConnectionState.Closed, connection.State);
        var report = Assert.Single(harness.Reports);
        Assert.Equal(SqlConnectionLeakKind.NotDisposedBeforeScopeEnd, report.Kind);
        Assert.Equal(harness.Name, report.Lease.PoolName);
        Assert.Equal(ThisFilePath(), report.Lease.CallSite!.FilePath);
        Assert.Equal(line, report.Lease.CallSite.LineNumber);
        Assert.Equal(nameof(Dispose_ConnectionStillOpen_ReturnsItToThePoolAndReportsLeak), report.Lease.CallSite.MemberName);
        Assert.Equal(TimeSpan.FromSeconds(1.5), report.Lease.HeldFor);
        Assert.Equal(time.GetUtcNow(), report.DetectedAt);
        Assert.Equal(time.GetUtcNow() - TimeSpan.FromSeconds(1.5), report.Lease.OpenedAt);
        Assert.Equal(
            $"""Connection leak in SafeSql pool '{harness.Name}': the connection opened at SqlConnectionScopeTests.cs:{line} (Dispose_ConnectionStillOpen_ReturnsItToThePoolAndReportsLeak) was still open when its scope ended, 1.5 s after it was opened; SafeSql disposed it (returned it to the pool). Dispose every connection before its scope ends: 'await using var connection = await factory.OpenAsync();'.""",
            report.Message);
        var log = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.LeakNotDisposedBeforeScopeEnd);
        Assert.Equal(LogLevel.Warning, log.Level);
        Assert.Equal(report.Message, log.Message);
        var leak = Assert.Single(harness.MeasurementsOf("db.client.connection.safesql.leaks"));
        Assert.Equal("not_disposed_before_scope_end", leak.Tags["safesql.leak.kind"]);
        Assert.Equal(0, harness.Factory.GetPoolSnapshot().LeasedCount);
        Assert.Equal(1, harness.Factory.GetPoolSnapshot().LeaksDetected);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Dispose_EveryConnectionDisposedByItsOwner_ReportsNothing(bool async)
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString());
        var scope = harness.Factory.CreateScope();

        // Act
        for (var i = 0; i < 50; i++)
        {
            await using var connection = async ? await scope.OpenConnectionAsync() : scope.OpenConnection();
        }

        await scope.DisposeAsync();

        // Assert
        Assert.Empty(harness.Reports);
        Assert.Equal(0, harness.Factory.GetPoolSnapshot().LeasedCount);
    }

    [Fact]
    public async Task Dispose_ManyClosedAndTwoOpen_ReportsOnlyTheTwoOpen()
    {
        // Arrange: enough opens to make the scope compact its list several times.
        await using var harness = new FactoryHarness(fixture.ConnectionString());
        await using var scope = harness.Factory.CreateScope();
        var kept = new List<SqlConnection>();
        for (var i = 0; i < 200; i++)
        {
            var connection = scope.OpenConnection();
            if (i is 3 or 150)
            {
                kept.Add(connection);
            }
            else
            {
                connection.Dispose();
            }
        }

        // Act
        await scope.DisposeAsync();

        // Assert
        Assert.Equal(2, harness.Reports.Count);
        Assert.All(kept, c => Assert.Equal(ConnectionState.Closed, c.State));
    }

    [Fact]
    public async Task Dispose_ConnectionsOpenedFromParallelTasks_ReportsEveryLeakedOne()
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString());
        var scope = harness.Factory.CreateScope();

        // Act: 4 tasks x 10 opens, every other one leaked.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                var connection = await scope.OpenConnectionAsync();
                if (i % 2 == 0)
                {
                    await connection.DisposeAsync();
                }
            }
        })));
        var leasedBeforeScopeEnd = harness.Factory.GetPoolSnapshot().LeasedCount;
        await scope.DisposeAsync();

        // Assert
        Assert.Equal(20, leasedBeforeScopeEnd);
        Assert.Equal(20, harness.Reports.Count);
        Assert.Equal(0, harness.Factory.GetPoolSnapshot().LeasedCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_ScopeDisposed_ThrowsObjectDisposedException(bool async)
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString());
        var scope = harness.Factory.CreateScope();
        await scope.DisposeAsync();

        // Act
        var exception = async
            ? await Assert.ThrowsAsync<ObjectDisposedException>(async () => await scope.OpenConnectionAsync())
            : Assert.Throws<ObjectDisposedException>(() => scope.OpenConnection());

        // Assert
        Assert.Equal(
            """This SafeSql scope has been disposed (its DI scope or 'await using' block ended). Open connections through a live scope or the root factory.""" + Environment.NewLine + "Object name: 'ISqlConnectionScope'.",
            exception.Message);
    }

    [Fact]
    public async Task OpenAsync_ScopeDisposedWhileOpening_DisposesTheConnectionAndThrowsObjectDisposedException()
    {
        // Arrange: a server whose logins take 5 s, so the open is still inside SqlClient when the scope ends.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.LoginDelay = TimeSpan.FromSeconds(5);
        var connectionString = new SqlConnectionStringBuilder(server.ConnectionString) { ApplicationName = $"SafeSql.Tests.{Guid.NewGuid():N}" }.ConnectionString;
        await using var harness = new FactoryHarness(connectionString);
        var scope = harness.Factory.CreateScope();
        var open = scope.OpenConnectionAsync().AsTask();
        var accepted = Task.Run(async () =>
        {
            while (server.Counters.TcpConnectionsAccepted == 0)
            {
                await Task.Delay(10);
            }
        });
        await accepted.WaitAsync(TimeSpan.FromSeconds(30));

        // Act
        await scope.DisposeAsync();
        var exception = await Assert.ThrowsAsync<ObjectDisposedException>(() => open);

        // Assert: the scope disposed the connection it could no longer own, which ended its lease without a leak report.
        Assert.Equal(
            """The SafeSql scope was disposed while a connection was being opened through it; the connection was disposed. Open connections through a live scope.""" + Environment.NewLine + "Object name: 'ISqlConnectionScope'.",
            exception.Message);
        Assert.Equal(1, server.Counters.Logins);
        Assert.Equal(0, harness.Factory.GetPoolSnapshot().LeasedCount);
        Assert.Empty(harness.Reports);
    }

    [Fact]
    public async Task CreateScope_FromAScope_ReturnsAnIndependentScope()
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString());
        var outer = harness.Factory.CreateScope();
        var inner = outer.CreateScope();
        var innerConnection = inner.OpenConnection();

        // Act
        await outer.DisposeAsync();

        // Assert
        Assert.Equal(ConnectionState.Open, innerConnection.State);
        Assert.Empty(harness.Reports);
        await inner.DisposeAsync();
        Assert.Single(harness.Reports);
        Assert.Equal(harness.Name, inner.Name);
    }

    [Fact]
    public async Task DependencyInjectionScope_ConnectionLeftOpen_IsReturnedAndReportedWhenTheScopeEnds()
    {
        // Arrange: the real registration (keyed root singleton, scoped factory = root.CreateScope()).
        var reports = new ConcurrentQueue<SqlConnectionLeakReport>();
        var services = new ServiceCollection();
        services.AddSafeSql(o =>
        {
            o.ConnectionString = fixture.ConnectionString();
            o.Leaks.OnLeakDetected = reports.Enqueue;
        });
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        SqlConnection connection;
        int line;

        // Act
        await using (var request = provider.CreateAsyncScope())
        {
            var factory = request.ServiceProvider.GetRequiredService<ISqlConnectionFactory>();
            (connection, line) = (await factory.OpenConnectionAsync(), CurrentLine());
        }

        // Assert
        Assert.Equal(ConnectionState.Closed, connection.State);
        var report = Assert.Single(reports);
        Assert.Equal(SqlConnectionLeakKind.NotDisposedBeforeScopeEnd, report.Kind);
        Assert.Equal(line, report.Lease.CallSite!.LineNumber);
        Assert.Equal(string.Empty, report.Lease.PoolName);
        Assert.Contains("Connection leak in SafeSql pool '(default)': the connection opened at SqlConnectionScopeTests.cs:", report.Message, StringComparison.Ordinal);
        provider.GetRequiredKeyedService<SafeSqlDataSource>(Options.DefaultName).ClearPool();
    }

    /// <summary>
    /// The leak from the field, raw: an exception skips Close(), the loop swallows it, and after Max Pool Size iterations
    /// every pooled connection is leaked, so the next Open waits Connect Timeout and throws the pool timeout.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LeakLoop_RawSqlClient_HitsThePoolTimeoutAfterMaxPoolSizeIterations(bool async)
    {
        // Arrange
        var connectionString = fixture.ConnectionString(maxPoolSize: 10, connectTimeout: 2);
        var leaked = new List<SqlConnection>(); // kept reachable: a GC must not let SqlClient reclaim them mid-test
        var swallowed = 0;
        InvalidOperationException? poolTimeout = null;
        var iterations = 0;

        // Act
        for (; iterations < 100; iterations++)
        {
            var connection = new SqlConnection(connectionString);
            leaked.Add(connection);
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
            }
            catch (InvalidOperationException ex)
            {
                poolTimeout = ex;
                break;
            }

            try
            {
                using var command = new SqlCommand(Raiserror17, connection);
                _ = async ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();
                connection.Close(); // never reached
            }
            catch (SqlException ex) when (ex.Class == 17)
            {
                swallowed++;
            }
        }

        // Assert
        Assert.Equal(10, iterations);
        Assert.Equal(10, swallowed);
        Assert.NotNull(poolTimeout);
        Assert.Equal(
            "Timeout expired.  The timeout period elapsed prior to obtaining a connection from the pool.  This may have occurred because all pooled connections were in use and max pool size was reached.",
            poolTimeout.Message);
        foreach (var connection in leaked)
        {
            await connection.DisposeAsync();
        }

        SqlConnection.ClearPool(leaked[0]);
    }

    /// <summary>
    /// The same loop through a SafeSql scope per iteration: every connection the exception leaked is returned to the pool
    /// at scope end and reported with the loop's file:line, so 1,000 iterations never hit the pool timeout.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LeakLoop_ScopePerIteration_Runs1000IterationsWithoutPoolTimeoutAndReportsEveryLeak(bool async)
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString(maxPoolSize: 10, connectTimeout: 2), o => o.LeakDetectionThreshold = null);
        var swallowed = 0;
        var poolTimeouts = 0;
        var openLine = 0;

        // Act
        for (var i = 0; i < 1000; i++)
        {
            var scope = harness.Factory.CreateScope();
            await using (scope)
            {
                SqlConnection connection;
                try
                {
                    (connection, openLine) = (async ? await scope.OpenConnectionAsync() : scope.OpenConnection(), CurrentLine());
                }
                catch (InvalidOperationException)
                {
                    poolTimeouts++;
                    continue;
                }

                try
                {
                    using var command = new SqlCommand(Raiserror17, connection);
                    _ = async ? await command.ExecuteNonQueryAsync() : command.ExecuteNonQuery();
                    connection.Close(); // never reached
                }
                catch (SqlException ex) when (ex.Class == 17)
                {
                    swallowed++;
                }
            }
        }

        // Assert
        Assert.Equal(0, poolTimeouts);
        Assert.Equal(1000, swallowed);
        var reports = harness.Reports;
        Assert.Equal(1000, reports.Count);
        Assert.All(reports, r =>
        {
            Assert.Equal(SqlConnectionLeakKind.NotDisposedBeforeScopeEnd, r.Kind);
            Assert.Equal(ThisFilePath(), r.Lease.CallSite!.FilePath);
            Assert.Equal(openLine, r.Lease.CallSite.LineNumber);
            Assert.Contains($"SqlConnectionScopeTests.cs:{openLine} (LeakLoop_ScopePerIteration_Runs1000IterationsWithoutPoolTimeoutAndReportsEveryLeak)", r.Message, StringComparison.Ordinal);
        });
        Assert.Equal(1000, harness.Logs.GetSnapshot().Count(r => r.Id.Id == SafeSqlEventId.LeakNotDisposedBeforeScopeEnd));
        Assert.Equal(1000, harness.MeasurementsOf("db.client.connection.safesql.leaks").Sum(m => m.Value));
        Assert.Equal(0, harness.Factory.GetPoolSnapshot().LeasedCount);
    }
}

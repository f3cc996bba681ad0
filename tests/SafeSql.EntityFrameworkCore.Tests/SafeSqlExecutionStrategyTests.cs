using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore;

using SafeSql.Diagnostics;

namespace SafeSql.EntityFrameworkCore.Tests;

public sealed class SafeSqlExecutionStrategyTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SaveChanges_Deadlock1205_IsReplayedAndSucceeds(bool async)
    {
        // Arrange: the first INSERT is chosen as a deadlock victim.
        await using var harness = await EfHarness.StartAsync();
        harness.Database.FailNext("INSERT INTO [Orders]", OrdersDatabase.Deadlock);
        var order = new Order { Name = "retried" };

        // Act
        int saved;
        await using (var context = harness.CreateContext())
        {
            context.Orders.Add(order);
            saved = async ? await context.SaveChangesAsync() : context.SaveChanges();
        }

        // Assert: two INSERTs reached the server; the second one's id came back; the failure was logged as retried.
        Assert.Equal(1, saved);
        Assert.Equal(101, order.Id);
        Assert.Equal(2, harness.Database.Requests.Count(r => r.Sql.Contains("INSERT INTO [Orders]", StringComparison.Ordinal)));
        var failed = Assert.Single(harness.Events(SafeSqlEntityFrameworkCoreEventId.ExecutionAttemptFailed));
        Assert.StartsWith("An EF Core operation on pool '(default)' failed (attempt 1): TransientServerError, SQL error 1205, socket error ; will retry: True (in ", failed.Message, StringComparison.Ordinal);
        Assert.Empty(harness.Events(SafeSqlEntityFrameworkCoreEventId.ExecutionFailed));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Query_SyntaxError102_IsNotRetriedAndThrowsTheOriginal(bool async)
    {
        // Arrange
        await using var harness = await EfHarness.StartAsync();
        harness.Database.FailNext("SELECT", OrdersDatabase.SyntaxError);
        await using var context = harness.CreateContext();

        // Act
        var exception = async
            ? await Assert.ThrowsAsync<SqlException>(() => context.Orders.ToListAsync())
            : Assert.Throws<SqlException>(() => context.Orders.ToList());

        // Assert: one batch on the server, SqlClient's exception untouched, event 3101 says why.
        Assert.Equal(102, exception.Number);
        Assert.Equal("Incorrect syntax near 'Orders'.", exception.Message);
        Assert.Single(harness.Database.Requests);
        Assert.Equal(
            "An EF Core operation on pool '(default)' failed with Permanent after 1 attempt(s), not retried: Permanent is never retried. The original exception is rethrown.",
            Assert.Single(harness.Events(SafeSqlEntityFrameworkCoreEventId.ExecutionFailed)).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Query_ServerRefusesThenComesBack_IsRetriedAndSucceeds(bool async)
    {
        // Arrange: the server refuses connections. An asynchronous open is cut once the probe sees the refusal, which is logged:
        // the server comes back then, and the data source's open retry reaches it within the open's budget. A synchronous open
        // cannot be cut; SqlClient tries the TCP connect again until Connect Timeout: the server comes back after a second.
        OrdersDatabase? database = null;
        await using var harness = await EfHarness.StartAsync(onLog: line =>
        {
            if (line.Contains("ConnectionRefused", StringComparison.Ordinal) && database is not null)
            {
                database.Server.Faults.RefuseConnections = false;
            }
        });
        database = harness.Database;
        database.Server.Faults.RefuseConnections = true;
        await using var context = harness.CreateContext();
        var comesBack = async ? Task.CompletedTask : Task.Delay(TimeSpan.FromSeconds(1)).ContinueWith(_ => database.Server.Faults.RefuseConnections = false, TaskScheduler.Default);

        // Act
        var orders = async ? await context.Orders.ToListAsync() : context.Orders.ToList();
        await comesBack;

        // Assert: the query ran once; the open was the data source's to retry, so the strategy replayed nothing. Asynchronously
        // the refusal was classified and retried by the data source's open retry (event 3000).
        Assert.Equal(2, orders.Count);
        Assert.Single(harness.Database.Requests);
        Assert.Empty(harness.Events(SafeSqlEntityFrameworkCoreEventId.ExecutionAttemptFailed));
        if (async)
        {
            Assert.Contains(harness.Events(SafeSqlEventId.OpenAttemptFailed), r =>
                r.Message.Contains("failed (attempt 1): ConnectionRefused,", StringComparison.Ordinal)
                && r.Message.Contains("will retry: True", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Query_ServerRefusesPastTheOpenBudget_FailsAfterOneBudgetWithoutAReplay(bool async)
    {
        // Arrange: the server refuses every connection; the open's budget is Connect Timeout (2 s).
        await using var harness = await EfHarness.StartAsync(connectTimeout: 2);
        harness.Database.Server.Faults.RefuseConnections = true;
        await using var context = harness.CreateContext();

        // Act
        var exception = async
            ? await Assert.ThrowsAnyAsync<Exception>(() => context.Orders.ToListAsync())
            : Assert.ThrowsAny<Exception>(() => context.Orders.ToList());

        // Assert: the data source gave up on the open (event 3002, its budget spent) and the strategy did not replay the query,
        // so the caller was held one budget, not one per replay; the caller gets the classified refusal.
        Assert.Equal(SqlFailureKind.ConnectionRefused, SqlFailureClassifier.Classify(exception).Kind);
        Assert.Empty(harness.Events(SafeSqlEntityFrameworkCoreEventId.ExecutionAttemptFailed));
        Assert.Empty(harness.Events(SafeSqlEntityFrameworkCoreEventId.ExecutionFailed));
        Assert.Single(harness.Events(SafeSqlEventId.OpenFailed));
        Assert.Empty(harness.Database.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Query_PoolTimeout_IsNotReplayedAndNamesTheHolder(bool async)
    {
        // Arrange: a pool of one connection, held by this test.
        await using var harness = await EfHarness.StartAsync(maxPoolSize: 1, connectTimeout: 1);
        await using var held = await harness.DataSource.OpenConnectionAsync();
        await using var context = harness.CreateContext();

        // Act
        var exception = async
            ? await Assert.ThrowsAsync<SqlConnectionPoolExhaustedException>(() => context.Orders.ToListAsync())
            : Assert.Throws<SqlConnectionPoolExhaustedException>(() => context.Orders.ToList());

        // Assert: a full pool's timeout is a leak, which the data source never retries (event 1002 once), and the strategy does
        // not replay an open: SafeSql's exception names the holder, SqlClient's inside it.
        var logs = string.Join(Environment.NewLine, harness.Logs.GetSnapshot().Select(r => $"{r.Id.Id} {r.Level}: {r.Message}"));
        Assert.True(harness.Events(SafeSqlEventId.PoolExhausted).Count == 1, logs);
        Assert.True(harness.Events(SafeSqlEntityFrameworkCoreEventId.ExecutionAttemptFailed).Count == 0, logs);
        Assert.Contains(nameof(Query_PoolTimeout_IsNotReplayedAndNamesTheHolder), exception.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(exception.InnerException);
        Assert.Empty(harness.Database.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UserTransaction_OutsideTheStrategy_IsRefusedAsWithEfCoresOwnStrategy(bool async)
    {
        // Arrange
        await using var harness = await EfHarness.StartAsync();
        await using var context = harness.CreateContext();

        // Act: EF's rule for retrying strategies: a transaction the application begins must run inside the strategy.
        InvalidOperationException exception;
        await using (var outside = async ? await context.Database.BeginTransactionAsync() : context.Database.BeginTransaction())
        {
            context.Orders.Add(new Order { Name = "outside the strategy" });
            exception = async
                ? await Assert.ThrowsAsync<InvalidOperationException>(() => context.SaveChangesAsync())
                : Assert.Throws<InvalidOperationException>(() => context.SaveChanges());
        }

        context.ChangeTracker.Clear();
        var saved = await context.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await using var transaction = await context.Database.BeginTransactionAsync();
            context.Orders.Add(new Order { Name = "in a transaction" });
            var count = await context.SaveChangesAsync();
            await transaction.CommitAsync();
            return count;
        });

        // Assert
        Assert.Contains("'SafeSqlExecutionStrategy' does not support user-initiated transactions", exception.Message, StringComparison.Ordinal);
        Assert.Equal(1, saved);
    }
}

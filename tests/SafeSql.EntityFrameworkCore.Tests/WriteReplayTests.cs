using Microsoft.EntityFrameworkCore;

using SafeSql.Diagnostics;

namespace SafeSql.EntityFrameworkCore.Tests;

/// <summary>
/// A write is replayed only when it cannot have been applied: the loopback server applies the change and resets the connection
/// before answering (<c>ResetAfterExecuting</c>, <c>ResetAfterCommit</c>), and its counters say how many times the change
/// was applied. docs/write-replay.md states each row.
/// </summary>
public sealed class WriteReplayTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SaveChanges_SingleInsertResetAfterExecuting_NotReplayedAndOutcomeUnknown(bool async)
    {
        // Arrange: every INSERT is applied, then the connection is reset before the answer (EF sends one INSERT, no transaction).
        await using var harness = await EfHarness.StartAsync();
        var server = harness.Database.Server;
        server.Faults.ResetAfterExecuting = request => request.Sql.Contains("INSERT INTO [Orders]", StringComparison.Ordinal);
        await using var context = harness.CreateContext();
        context.Orders.Add(new Order { Name = "once" });

        // Act
        var exception = async
            ? await Assert.ThrowsAsync<SqlOutcomeUnknownException>(() => context.SaveChangesAsync())
            : Assert.Throws<SqlOutcomeUnknownException>(() => context.SaveChanges());

        // Assert: applied once on the server, not replayed, and the caller is told the outcome is unknown.
        Assert.Equal(1, server.Counters.RowsWritten);
        Assert.Single(harness.Database.Requests, r => r.Sql.Contains("INSERT INTO [Orders]", StringComparison.Ordinal));
        Assert.Equal("SaveChanges", exception.Operation);
        Assert.Equal(SqlFailureKind.ConnectionBroken, exception.Failure!.Kind);
        Assert.False(exception.IsTransient);
        Assert.IsType<DbUpdateException>(exception.InnerException);
        Assert.StartsWith(
            "The outcome of SaveChanges is unknown: ConnectionBroken (the outcome is unknown: the connection failed while a statement outside a transaction was in flight, so the server may have applied it). SafeSqlExecutionStrategy did not replay it",
            exception.Message,
            StringComparison.Ordinal);
        Assert.Contains("ExecuteInTransaction(..., verifySucceeded)", exception.Message, StringComparison.Ordinal);
        Assert.Equal(
            "An EF Core operation on pool '(default)' failed with ConnectionBroken after 1 attempt(s), not retried: the outcome is unknown: the connection failed while a statement outside a transaction was in flight, so the server may have applied it. SqlOutcomeUnknownException is thrown, the original as its inner exception.",
            Assert.Single(harness.Events(SafeSqlEntityFrameworkCoreEventId.ExecutionFailed)).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SaveChanges_ResetDuringStatementInsideItsTransaction_ReplayedAndAppliedOnce(bool async)
    {
        // Arrange: an INSERT and an UPDATE, which EF sends in one batch inside a transaction; the first batch is executed and
        // the connection reset before the answer, so the server rolls the transaction back with the session.
        await using var harness = await EfHarness.StartAsync();
        var server = harness.Database.Server;
        var resets = 0;
        server.Faults.ResetAfterExecuting = request =>
            request.Sql.Contains("INSERT INTO [Orders]", StringComparison.Ordinal) && Interlocked.Increment(ref resets) == 1;
        await using var context = harness.CreateContext();
        AddOneAndRenameOne(context);

        // Act
        var saved = async ? await context.SaveChangesAsync() : context.SaveChanges();

        // Assert: two batches reached the server, one transaction committed: the insert and the update applied once each.
        Assert.Equal(2, saved);
        Assert.Equal(2, harness.Database.Requests.Count(r => r.Sql.Contains("INSERT INTO [Orders]", StringComparison.Ordinal)));
        Assert.Equal(1, server.Counters.TransactionsCommitted);
        Assert.Equal(2, server.Counters.RowsWritten);
        await WaitForAsync(() => server.Counters.TransactionsRolledBack == 1);
        Assert.Contains("will retry: True", Assert.Single(harness.Events(SafeSqlEntityFrameworkCoreEventId.ExecutionAttemptFailed)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SaveChanges_ResetDuringStatementInsideItsTransaction_ReplayedOnceEveryTime(bool async)
    {
        // Under load, SqlClient 6.1.8's rollback of the dead connection's transaction (EF disposes it in a finally) can throw
        // "Invalid operation. The connection is closed." instead of the command's exception, and leave EF's transaction
        // current. Repeated so that the race happens in a loaded run; every round must still be replayed and applied once.
        for (var round = 0; round < 50; round++)
        {
            // Arrange
            await using var harness = await EfHarness.StartAsync();
            var server = harness.Database.Server;
            var resets = 0;
            server.Faults.ResetAfterExecuting = request =>
                request.Sql.Contains("INSERT INTO [Orders]", StringComparison.Ordinal) && Interlocked.Increment(ref resets) == 1;
            await using var context = harness.CreateContext();
            AddOneAndRenameOne(context);

            // Act
            var saved = async ? await context.SaveChangesAsync() : context.SaveChanges();

            // Assert
            Assert.Equal(2, saved);
            Assert.Equal(1, server.Counters.TransactionsCommitted);
            Assert.Equal(2, server.Counters.RowsWritten);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SaveChanges_ResetWhileCommitInFlight_NotReplayedAndOutcomeUnknown(bool async)
    {
        // Arrange: every COMMIT is applied, then the connection is reset before the answer.
        await using var harness = await EfHarness.StartAsync();
        var server = harness.Database.Server;
        server.Faults.ResetAfterCommit = true;
        await using var context = harness.CreateContext();
        AddOneAndRenameOne(context);

        // Act
        var exception = async
            ? await Assert.ThrowsAsync<SqlOutcomeUnknownException>(() => context.SaveChangesAsync())
            : Assert.Throws<SqlOutcomeUnknownException>(() => context.SaveChanges());

        // Assert: committed once, never replayed.
        Assert.Equal(1, server.Counters.TransactionsCommitted);
        Assert.Equal(2, server.Counters.RowsWritten);
        Assert.Single(harness.Database.Requests, r => r.Sql.Contains("INSERT INTO [Orders]", StringComparison.Ordinal));
        Assert.Equal("COMMIT of the transaction of SaveChanges", exception.Operation);
        Assert.Contains("while COMMIT was in flight", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteInTransaction_ResetWhileCommitInFlight_VerifiesAndDoesNotReplay(bool async)
    {
        // Arrange: EF Core's documented answer to an unknown commit outcome: a verification the strategy runs after the failure.
        await using var harness = await EfHarness.StartAsync();
        var server = harness.Database.Server;
        server.Faults.ResetAfterCommit = true;
        await using var context = harness.CreateContext();
        AddOneAndRenameOne(context);
        var strategy = context.Database.CreateExecutionStrategy();
        var verifications = 0;

        // Act
        if (async)
        {
            await strategy.ExecuteInTransactionAsync(
                context,
                (c, ct) => c.SaveChangesAsync(acceptAllChangesOnSuccess: false, ct),
                (c, ct) =>
                {
                    Interlocked.Increment(ref verifications);
                    return c.Orders.AsNoTracking().AnyAsync(o => o.Name == "added", ct);
                });
        }
        else
        {
            strategy.ExecuteInTransaction(
                context,
                c => c.SaveChanges(acceptAllChangesOnSuccess: false),
                c =>
                {
                    Interlocked.Increment(ref verifications);
                    return c.Orders.AsNoTracking().Any(o => o.Name == "added");
                });
        }

        context.ChangeTracker.AcceptAllChanges();

        // Assert: one commit, verified, no replay and no exception.
        Assert.Equal(1, verifications);
        Assert.Equal(1, server.Counters.TransactionsCommitted);
        Assert.Equal(2, server.Counters.RowsWritten);
        Assert.Single(harness.Database.Requests, r => r.Sql.Contains("INSERT INTO [Orders]", StringComparison.Ordinal));
        Assert.Empty(harness.Events(SafeSqlEntityFrameworkCoreEventId.ExecutionFailed));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ExecuteInTransaction_VerificationSaysNotThere_Replayed(bool async)
    {
        // Arrange: the first COMMIT is applied and its answer lost; the verification answers "not there" (wrongly, on purpose,
        // so that the server's counters show what the strategy did with the answer).
        await using var harness = await EfHarness.StartAsync();
        var server = harness.Database.Server;
        server.Faults.ResetAfterCommit = true;
        await using var context = harness.CreateContext();
        AddOneAndRenameOne(context);
        var strategy = context.Database.CreateExecutionStrategy();
        var verifications = 0;
        bool Verify()
        {
            Interlocked.Increment(ref verifications);
            server.Faults.ResetAfterCommit = false;
            return false;
        }

        // Act
        if (async)
        {
            await strategy.ExecuteInTransactionAsync(
                context,
                (c, ct) => c.SaveChangesAsync(acceptAllChangesOnSuccess: false, ct),
                (c, ct) => Task.FromResult(Verify()));
        }
        else
        {
            strategy.ExecuteInTransaction(context, c => c.SaveChanges(acceptAllChangesOnSuccess: false), c => Verify());
        }

        // Assert: the verification decided: told the change is not there, the strategy replayed the transaction.
        Assert.Equal(1, verifications);
        Assert.Equal(2, server.Counters.TransactionsCommitted);
        Assert.Equal(2, harness.Database.Requests.Count(r => r.Sql.Contains("INSERT INTO [Orders]", StringComparison.Ordinal)));
        Assert.Contains("will retry: True", Assert.Single(harness.Events(SafeSqlEntityFrameworkCoreEventId.ExecutionAttemptFailed)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Query_ResetAfterExecuting_ReplayedAsARead(bool async)
    {
        // Arrange: the first query is executed and its answer lost.
        await using var harness = await EfHarness.StartAsync();
        var resets = 0;
        harness.Database.Server.Faults.ResetAfterExecuting = request =>
            request.Sql.Contains("FROM [Orders]", StringComparison.Ordinal) && Interlocked.Increment(ref resets) == 1;
        await using var context = harness.CreateContext();

        // Act
        var orders = async ? await context.Orders.ToListAsync() : context.Orders.ToList();

        // Assert: EF's queries are reads by its contract: replayed.
        Assert.Equal(2, orders.Count);
        Assert.Equal(2, harness.Database.Requests.Count);
        Assert.Equal(0, harness.Database.Server.Counters.RowsWritten);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SaveChanges_ServerRefusesThenComesBack_OpenRetriedAndAppliedOnce(bool async)
    {
        // Arrange: the server refuses connections until the first refusal is logged (an asynchronous open is cut when the probe
        // sees it), or for a second (a synchronous open cannot be cut; SqlClient tries the TCP connect again until Connect Timeout).
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
        context.Orders.Add(new Order { Name = "after the refusal" });
        var comesBack = async ? Task.CompletedTask : Task.Delay(TimeSpan.FromSeconds(1)).ContinueWith(_ => database.Server.Faults.RefuseConnections = false, TaskScheduler.Default);

        // Act
        var saved = async ? await context.SaveChangesAsync() : context.SaveChanges();
        await comesBack;

        // Assert: a refused open sent nothing; the open was retried by the data source (asynchronously its open retry, event
        // 3000; synchronously SqlClient's own connect loop), never replayed by the strategy, and the write was applied once.
        Assert.Equal(1, saved);
        Assert.Equal(1, database.Server.Counters.RowsWritten);
        Assert.Empty(harness.Events(SafeSqlEntityFrameworkCoreEventId.ExecutionAttemptFailed));
        if (async)
        {
            Assert.Contains(harness.Events(SafeSqlEventId.OpenAttemptFailed), r => r.Message.Contains("failed (attempt 1): ConnectionRefused,", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StrategyBlock_SecondSaveChangesFailsAfterFirstApplied_NotReplayed(bool async)
    {
        // Arrange: two single-statement SaveChanges in one block without a transaction; the second one's INSERT is reset.
        await using var harness = await EfHarness.StartAsync();
        var server = harness.Database.Server;
        var inserts = 0;
        server.Faults.ResetAfterExecuting = request =>
            request.Sql.Contains("INSERT INTO [Orders]", StringComparison.Ordinal) && Interlocked.Increment(ref inserts) == 2;
        await using var context = harness.CreateContext();
        var strategy = context.Database.CreateExecutionStrategy();

        // Act: replaying the block would insert the first order again.
        var exception = await Assert.ThrowsAsync<SqlOutcomeUnknownException>(async () =>
        {
            if (async)
            {
                await strategy.ExecuteAsync(async () =>
                {
                    context.Orders.Add(new Order { Name = "first" });
                    await context.SaveChangesAsync();
                    context.Orders.Add(new Order { Name = "second" });
                    await context.SaveChangesAsync();
                });
            }
            else
            {
                strategy.Execute(() =>
                {
                    context.Orders.Add(new Order { Name = "first" });
                    context.SaveChanges();
                    context.Orders.Add(new Order { Name = "second" });
                    context.SaveChanges();
                });
            }
        });

        // Assert
        Assert.Equal(2, server.Counters.RowsWritten);
        Assert.Equal(2, inserts);
        Assert.Contains("an earlier step of the operation was already applied", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UseSafeSqlTwice_SingleInsertResetAfterExecuting_StillTheWriteInFlight(bool async)
    {
        // Arrange: UseSafeSql called twice on one builder (OnConfiguring and AddDbContext both configure, say).
        await using var harness = await EfHarness.StartAsync();
        harness.Database.Server.Faults.ResetAfterExecuting = request => request.Sql.Contains("INSERT INTO [Orders]", StringComparison.Ordinal);
        var options = new DbContextOptionsBuilder<OrdersContext>().UseSafeSql(harness.DataSource).UseSafeSql(harness.DataSource).Options;
        await using var context = new OrdersContext(options);
        context.Orders.Add(new Order { Name = "once" });

        // Act
        var exception = async
            ? await Assert.ThrowsAsync<SqlOutcomeUnknownException>(() => context.SaveChangesAsync())
            : Assert.Throws<SqlOutcomeUnknownException>(() => context.SaveChanges());

        // Assert: each step seen once, so the failure is the INSERT in flight, not "after an applied step".
        Assert.Equal("SaveChanges", exception.Operation);
        Assert.Contains("a statement outside a transaction was in flight", exception.Message, StringComparison.Ordinal);
        Assert.Equal(1, harness.Database.Server.Counters.RowsWritten);
    }

    /// <summary>Adds an order and renames an existing one: two statements, which EF sends in one batch inside a transaction.</summary>
    private static void AddOneAndRenameOne(OrdersContext context)
    {
        context.Orders.Add(new Order { Name = "added" });
        var existing = new Order { Id = 1, Name = "first" };
        context.Orders.Attach(existing);
        existing.Name = "renamed";
    }

    /// <summary>Waits for the server's side to catch up (a session ends on its own task after the reset), at most 30 s.</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}

using System.Collections.Concurrent;

using Microsoft.Data.SqlClient;

using SafeSql.Testing;

namespace SafeSql.EntityFrameworkCore.Tests;

/// <summary>
/// The Orders table as the loopback server answers EF Core's SQL for it (through <see cref="LoopbackSqlServer.BatchHandler"/>):
/// the query returns the rows, an INSERT returns the new id (EF reads it from <c>OUTPUT INSERTED.[Id]</c>), and a fault can
/// be queued for the next statement that matches, as SQL Server would raise it. Every INSERT, UPDATE and DELETE reply is
/// marked with the rows it wrote, so the server's counters tell what was applied (<c>Server.Counters.RowsWritten</c>).
/// </summary>
public sealed class OrdersDatabase : IAsyncDisposable
{
    private readonly ConcurrentQueue<(string Match, LoopbackResponse Response)> _faults = new();
    private int _nextId = 100;

    private OrdersDatabase(LoopbackSqlServer server)
    {
        Server = server;
        server.BatchHandler = Answer;
    }

    public LoopbackSqlServer Server { get; }

    /// <summary>Every statement EF sent that touched the table, in order (inserts and queries).</summary>
    public ConcurrentQueue<LoopbackRequest> Requests { get; } = new();

    public List<Order> Rows { get; } = [new Order { Id = 1, Name = "first" }, new Order { Id = 2, Name = "second" }];

    public static async Task<OrdersDatabase> StartAsync() => new(await LoopbackSqlServer.StartAsync());

    /// <summary>A connection string with a SqlClient pool of its own.</summary>
    public string ConnectionString(int? maxPoolSize = null, int? connectTimeout = null)
    {
        var builder = new SqlConnectionStringBuilder(Server.ConnectionString) { ApplicationName = $"SafeSql.EF.Tests.{Guid.NewGuid():N}" };
        if (maxPoolSize is { } max)
        {
            builder.MaxPoolSize = max;
        }

        if (connectTimeout is { } timeout)
        {
            builder.ConnectTimeout = timeout;
        }

        return builder.ConnectionString;
    }

    /// <summary>The next statement containing <paramref name="match"/> gets <paramref name="response"/> instead of its answer.</summary>
    public void FailNext(string match, LoopbackResponse response) => _faults.Enqueue((match, response));

    /// <summary>Deadlock victim, as SQL Server 2022 words it (error 1205, class 13, state 51).</summary>
    public static LoopbackResponse Deadlock { get; } = LoopbackResponse.Error(
        1205, 13, 51, "Transaction (Process ID 51) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.");

    /// <summary>A syntax error, as SQL Server 2022 words it (error 102, class 15, state 1).</summary>
    public static LoopbackResponse SyntaxError { get; } = LoopbackResponse.Error(102, 15, 1, "Incorrect syntax near 'Orders'.");

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    private LoopbackResponse? Answer(LoopbackRequest request)
    {
        if (!request.Sql.Contains("[Orders]", StringComparison.Ordinal))
        {
            return null;
        }

        Requests.Enqueue(request);
        if (_faults.TryPeek(out var fault) && request.Sql.Contains(fault.Match, StringComparison.Ordinal) && _faults.TryDequeue(out fault))
        {
            return fault.Response;
        }

        if (request.Sql.Contains("SET NOCOUNT ON", StringComparison.Ordinal))
        {
            // SaveChanges: one batch, one result set per INSERT, UPDATE or DELETE (SET statements return none).
            var replies = request.Sql.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Where(statement => !statement.StartsWith("SET ", StringComparison.Ordinal))
                .Select(SaveChangesReply)
                .ToArray();
            return LoopbackResponse.Batch(replies);
        }

        if (request.Sql.StartsWith("UPDATE [Orders]", StringComparison.Ordinal))
        {
            // ExecuteSqlRaw / ExecuteUpdate: one row updated.
            return LoopbackResponse.RowsAffected(1);
        }

        if (request.Sql.Contains("EXISTS", StringComparison.Ordinal))
        {
            // EF's Any(): the verification of ExecuteInTransaction. The table is not stored, so "is the row there" is "did the
            // server apply a write": enough for tests that write one change.
            return LoopbackResponse.Rows([""], [Server.Counters.RowsWritten > 0]);
        }

        lock (Rows)
        {
            if (request.Sql.Contains("COUNT(*)", StringComparison.Ordinal))
            {
                return LoopbackResponse.Rows([""], [Rows.Count]);
            }

            return LoopbackResponse.Rows(["Id", "Name"], [.. Rows.Select(r => new object?[] { r.Id, r.Name })]);
        }
    }

    /// <summary>One statement of SaveChanges: an INSERT returns the new id; a MERGE (several inserts) returns one row per
    /// inserted row, the new id and the row's position in the VALUES list; an UPDATE or DELETE returns one row (EF Core reads
    /// the rows affected from <c>OUTPUT 1</c>).</summary>
    private LoopbackResponse SaveChangesReply(string statement)
    {
        if (statement.StartsWith("INSERT INTO [Orders]", StringComparison.Ordinal))
        {
            return LoopbackResponse.Rows(["Id"], [Interlocked.Increment(ref _nextId)]).WithRowsWritten(1);
        }

        if (statement.StartsWith("MERGE [Orders]", StringComparison.Ordinal))
        {
            var count = statement.Split("(@p", StringSplitOptions.None).Length - 1;
            return LoopbackResponse.Rows(["Id", "_Position"], [.. Enumerable.Range(0, count).Select(position => new object?[] { Interlocked.Increment(ref _nextId), position })])
                .WithRowsWritten(count);
        }

        return LoopbackResponse.Rows([""], [1]).WithRowsWritten(1);
    }
}

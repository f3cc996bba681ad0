using System.Diagnostics;
using System.Globalization;

using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

using SafeSql.Tests.TestUtilities;

using Xunit.Abstractions;

namespace SafeSql.EntityFrameworkCore.Tests;

/// <summary>
/// EF Core's <c>EnableRetryOnFailure</c> and <c>UseSafeSql</c> side by side on the same real failures (the loopback server's
/// refusal, a listener that never answers for 258, a real 1205, a real pool timeout), both allowed 2 retries: which are
/// retried, how many attempts, how long, what the caller gets. Prints one table row per failure (docs/efcore.md) and
/// asserts the decisions the docs state.
/// </summary>
public sealed class RetryComparisonTests(ITestOutputHelper output)
{
    private const int MaxRetryCount = 2;

    private static readonly Lazy<Task> s_warmUp = new(async () =>
    {
        await RunAsync("none", safeSql: false);
        await RunAsync("none", safeSql: true);
    });

    public static TheoryData<string> Failures { get; } = ["refused", "connect timeout (258)", "deadlock (1205)", "pool timeout"];

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Strategies_SameRealFailure_RetryAsDocumented(string failure)
    {
        // Arrange: EF's first query in a process builds the model and compiles the query; not part of any row's time.
        await s_warmUp.Value;

        // Act: the same failure, once per strategy, each on a pool of its own.
        var ef = await RunAsync(failure, safeSql: false);
        var safeSql = await RunAsync(failure, safeSql: true);
        output.WriteLine($"| {failure} (Connect Timeout={ConnectTimeoutOf(failure)?.ToString(CultureInfo.InvariantCulture) ?? "15"}) | {ef.Attempts} attempt(s), {ef.Seconds} s: {ef.Outcome} | {safeSql.Attempts} attempt(s), {safeSql.Seconds} s: {safeSql.Outcome} |");

        // Assert: the decisions docs/efcore.md states.
        switch (failure)
        {
            case "refused":
            case "connect timeout (258)":
                // The open is the data source's: retried within the open's budget (Connect Timeout), never replayed by the strategy.
                Assert.Equal(1, ef.Attempts);
                Assert.Equal(1, safeSql.Attempts);
                break;
            case "deadlock (1205)":
                Assert.Equal(2, ef.Attempts);
                Assert.Equal(2, safeSql.Attempts);
                Assert.Equal("succeeded", safeSql.Outcome);
                break;
            default:
                Assert.Equal(1, ef.Attempts);
                Assert.Equal(1, safeSql.Attempts);
                Assert.StartsWith(nameof(SqlConnectionPoolExhaustedException), safeSql.Outcome, StringComparison.Ordinal);
                break;
        }
    }

    /// <summary>Connect Timeout per failure, in seconds: short, so the run is short; a refused open lasts about this long,
    /// as SqlClient retries the TCP connect until it expires.</summary>
    private static int? ConnectTimeoutOf(string failure) => failure switch
    {
        "refused" => 5,
        "connect timeout (258)" or "pool timeout" => 2,
        _ => null,
    };

    private static async Task<(int Attempts, string Seconds, string Outcome)> RunAsync(string failure, bool safeSql)
    {
        await using var database = await OrdersDatabase.StartAsync();
        using var silent = failure == "connect timeout (258)" ? await FullAcceptQueueListener.StartAsync() : null;
        var builder = new SqlConnectionStringBuilder(database.ConnectionString(maxPoolSize: failure == "pool timeout" ? 1 : null, connectTimeout: ConnectTimeoutOf(failure)));
        if (silent is not null)
        {
            builder.DataSource = silent.DataSource;
        }

        await using var dataSource = SafeSqlDataSource.Create(builder.ConnectionString);
        var retries = 0;
        var options = new DbContextOptionsBuilder<OrdersContext>()
            .LogTo(_ => Interlocked.Increment(ref retries), [CoreEventId.ExecutionStrategyRetrying]);
        options = safeSql
            ? options.UseSafeSql(dataSource, sql => sql.ExecutionStrategy(d => new SafeSqlExecutionStrategy(d, dataSource, new() { MaxRetryCount = MaxRetryCount })))
            : options.UseSqlServer(builder.ConnectionString, sql => sql.EnableRetryOnFailure(MaxRetryCount));

        SqlConnection? held = null;
        switch (failure)
        {
            case "refused":
                database.Server.Faults.RefuseConnections = true;
                break;
            case "deadlock (1205)":
                database.FailNext("SELECT", OrdersDatabase.Deadlock);
                break;
            case "pool timeout":
                held = safeSql ? await dataSource.OpenConnectionAsync() : new SqlConnection(builder.ConnectionString);
                if (!safeSql)
                {
                    await held.OpenAsync();
                }

                break;
        }

        var clock = Stopwatch.StartNew();
        string outcome;
        try
        {
            await using var context = new OrdersContext(options.Options);
            _ = await context.Orders.ToListAsync();
            outcome = "succeeded";
        }
        catch (Exception ex)
        {
            outcome = ex switch
            {
                SqlException sql => string.Create(CultureInfo.InvariantCulture, $"SqlException {sql.Number}"),
                _ => ex.GetType().Name + (ex.InnerException is { } inner ? $" ({inner.GetType().Name})" : ""),
            };
        }

        var seconds = clock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
        if (held is not null)
        {
            await held.DisposeAsync();
        }

        return (retries + 1, seconds, outcome);
    }
}

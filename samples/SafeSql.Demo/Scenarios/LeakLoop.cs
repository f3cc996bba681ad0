using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;

using SafeSql.Demo.Reporting;
using SafeSql.Demo.Running;

namespace SafeSql.Demo.Scenarios;

/// <summary>
/// Scenario 1, the leak loop: code opens a connection, a command fails (RAISERROR severity 17), the SqlException is caught
/// and swallowed, and <c>Close()</c> never runs. Repeated, it is the most common production outage with SqlClient.
/// </summary>
internal static class LeakLoop
{
    public const string Id = "leak-loop";

    private const int Iterations = 1_000;
    private const int MaxPoolSize = 10;
    private const int ConnectTimeoutSeconds = 2;
    private const string Settings = "Max Pool Size=10; Connect Timeout=2";
    private const string FailingCommand = "RAISERROR('Order 42 is locked by another user', 17, 1)";

    /// <summary>The raw loop stops after this many pool timeouts: every later iteration fails the same way.</summary>
    private const int RawStopsAfterPoolTimeouts = 2;

    public static async Task<ScenarioResult> RunAsync(DemoOptions options)
    {
        var raw = await RunRawAsync(options);
        var safeSql = await RunSafeSqlAsync(options);
        return new ScenarioResult
        {
            Scenario = Id,
            Number = 1,
            Title = "The leak loop: an exception skips Close()",
            Setup = $"Each iteration opens a connection and runs {FailingCommand}; the SqlException is caught and swallowed, "
                + $"so Close() never runs. Up to {Iterations:N0} iterations; {Settings}.",
            Raw = raw,
            SafeSql = safeSql,
            Verdict = raw.PoolTimeouts > 0 && safeSql.PoolTimeouts == 0
                ? $"Raw SqlClient is down after {raw.Opens} leaks with a pool timeout that names no culprit; SafeSql ran all "
                    + $"{safeSql.Opens:N0} iterations and reported every leak at {safeSql.Details["leakSite"]}."
                : "Unexpected: see the figures above.",
        };
    }

    // 1.1 Raw SqlClient: the bug as it ships.
    private static async Task<RunFigures> RunRawAsync(DemoOptions options)
    {
        await using var server = await DemoServer.StartAsync(options.ConnectionString);
        var connectionString = server.ConnectionString("SafeSql.Demo leak-loop raw", Settings);
        var recorder = new RunRecorder(server);

        // Leaked connections stay reachable here, as they are in an application until a garbage collection happens to run:
        // SqlClient takes a leaked connection back only when the GC collects it, silently (a counter, no log, no stack).
        var leaked = new List<SqlConnection>();
        var iterations = 0;
        while (iterations < Iterations && recorder.Count(SqlFailureKind.PoolTimeout) < RawStopsAfterPoolTimeouts)
        {
            iterations++;
            var connection = new SqlConnection(connectionString);
            try
            {
                await connection.OpenAsync();
            }
            catch (InvalidOperationException poolTimeout)
            {
                recorder.Failed(poolTimeout); // "Timeout expired. The timeout period elapsed prior to obtaining a connection from the pool."
                continue;
            }

            recorder.Opened();
            leaked.Add(connection);
            try
            {
                await using var command = new SqlCommand(FailingCommand, connection);
                await command.ExecuteNonQueryAsync();
                connection.Close(); // never reached
            }
            catch (SqlException)
            {
                // swallowed: "the order is locked, move on to the next one"
            }
        }

        var figures = recorder.Finish(
            $"The pool ran dry after {recorder.Opens} leaked connections: the next open waited Connect Timeout ({ConnectTimeoutSeconds} s) "
                + $"and failed with a pool timeout that names no culprit. Stopped after {RawStopsAfterPoolTimeouts}: every later request fails the same way.",
            new() { ["iterations"] = iterations, ["maxPoolSize"] = MaxPoolSize });

        foreach (var connection in leaked)
        {
            await connection.DisposeAsync();
        }

        SqlConnection.ClearAllPools();
        return figures;
    }

    // 1.2 SafeSql: the same bug, inside a scope per iteration.
    private static async Task<RunFigures> RunSafeSqlAsync(DemoOptions options)
    {
        await using var server = await DemoServer.StartAsync(options.ConnectionString);
        var recorder = new RunRecorder(server);
        await using var app = await SafeSqlApp.StartAsync(server.ConnectionString("SafeSql.Demo leak-loop", Settings), recorder);
        await using var worker = app.Services.CreateAsyncScope();
        var factory = worker.ServiceProvider.GetRequiredService<ISqlConnectionFactory>();

        for (var i = 0; i < Iterations; i++)
        {
            await using var scope = factory.CreateScope(); // one unit of work (in ASP.NET Core, the request's scope)
            SqlConnection connection;
            try
            {
                connection = await scope.OpenConnectionAsync(); // the leak report names this line
            }
            catch (InvalidOperationException)
            {
                recorder.Surfaced(); // a pool timeout (SafeSql's meter has classified it)
                continue;
            }

            recorder.Opened();
            try
            {
                await using var command = new SqlCommand(FailingCommand, connection);
                await command.ExecuteNonQueryAsync();
                connection.Close(); // never reached: the same bug
            }
            catch (SqlException)
            {
                // swallowed, as above
            }
        } // scope end: SafeSql returns the leaked connection to the pool and reports it

        var site = recorder.FirstLeak?.Lease.CallSite?.ToString() ?? "(no leak reported)";
        return recorder.Finish(
            $"Every scope returned its leaked connection to the pool and reported it: \"opened at {site} ... was still open when its scope ended\". "
                + $"{recorder.LeaksReported:N0} leak reports, no pool timeout.",
            new() { ["iterations"] = Iterations, ["maxPoolSize"] = MaxPoolSize, ["leakSite"] = site, ["firstLeakReport"] = recorder.FirstLeak?.Message });
    }
}

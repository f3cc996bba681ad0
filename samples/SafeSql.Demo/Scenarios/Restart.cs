using System.Diagnostics;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;

using Polly;

using SafeSql.Demo.Reporting;
using SafeSql.Demo.Running;
using SafeSql.Testing;

namespace SafeSql.Demo.Scenarios;

/// <summary>
/// Scenario 4, a server restart under load: 20 users send requests back to back when the server stops (every session closes,
/// every new connection is refused), comes back a second later, and fails logins with error 4060 while its database recovers.
/// </summary>
/// <remarks>
/// <para>
/// SqlClient itself retries a refused connect until <c>Connect Timeout</c> (sleeping 100 ms, doubling to 1 s, between
/// attempts), so the refused-connection burst shows as waiting opens, not errors: an outage shorter than
/// <c>Connect Timeout</c> (15 s) costs latency. What reaches the callers is the closed sessions (a command on a pooled
/// connection the server closed breaks) and the recovering database (4060, a transient error, fails the login at once).
/// </para>
/// <para>
/// Both sides use <c>Pool Blocking Period=NeverBlock</c>. With the default, SqlClient's pool replays a failed open's error to
/// every caller for 5 s (doubling up to 60 s) without trying the server, which would only stretch the raw outage; SafeSql's
/// retry waits that period out when it is on.
/// </para>
/// </remarks>
internal static class Restart
{
    public const string Id = "restart";

    private const int Users = 20;
    private const string Settings = "Pool Blocking Period=NeverBlock";
    private const int RecoveringError = 4060; // "Cannot open database requested by the login. The login failed."
    private static readonly TimeSpan s_pause = TimeSpan.FromMilliseconds(20); // between one user's requests
    private static readonly TimeSpan s_stopAt = TimeSpan.FromSeconds(0.5);
    private static readonly TimeSpan s_downtime = TimeSpan.FromSeconds(1.0);
    private static readonly TimeSpan s_recovery = TimeSpan.FromSeconds(1.0);
    private static readonly TimeSpan s_loadEnds = TimeSpan.FromSeconds(3.5);

    public static async Task<ScenarioResult> RunAsync(DemoOptions options)
    {
        if (options.ConnectionString is not null)
        {
            var skipped = RunFigures.SkippedRun("it needs the loopback server's fault injection (restart, refusals)");
            return Result(skipped, skipped);
        }

        var raw = await RunRawAsync();
        var safeSql = await RunSafeSqlAsync();
        return Result(raw, safeSql);
    }

    // 4.1 Raw SqlClient: each request opens, reads and disposes; a failure reaches the user.
    private static async Task<RunFigures> RunRawAsync()
    {
        await using var server = await DemoServer.StartLoopbackAsync();
        var connectionString = server.ConnectionString("SafeSql.Demo restart raw", Settings);
        var recorder = new RunRecorder(server);
        var requests = await RunUnderFaultsAsync(server.Loopback!, async () =>
        {
            try
            {
                await using var connection = new SqlConnection(connectionString);
                await connection.OpenAsync();
                recorder.Opened();
                await ReadAsync(connection, CancellationToken.None);
            }
            catch (Exception ex)
            {
                recorder.Failed(ex); // a failed request
            }
        });

        return recorder.Finish(
            $"{Text.Count(recorder.FailuresSurfaced)} of {Text.Count(requests)} requests failed: ConnectionBroken is a command on a session the "
                + $"server closed, TransientServerError a login refused with {RecoveringError} while the database recovered.",
            new() { ["requests"] = requests, ["users"] = Users });
    }

    // 4.2 SafeSql: the factory's open pipeline retries refused and broken opens (opening is idempotent); the read itself is
    // marked idempotent, so a command broken on a connection the server dropped is retried too.
    private static async Task<RunFigures> RunSafeSqlAsync()
    {
        await using var server = await DemoServer.StartLoopbackAsync();
        var recorder = new RunRecorder(server);
        var connectionString = server.ConnectionString("SafeSql.Demo restart", Settings);
        await using var app = await SafeSqlApp.StartAsync(connectionString, recorder, options =>
        {
            options.OpenRetry!.Delay = TimeSpan.FromMilliseconds(200); // Polly's jittered exponential backoff around 200, 400, 800... ms
            options.OpenRetry!.MaxRetryAttempts = 5;
        });
        var read = new ResiliencePipelineBuilder()
            .AddSqlRetry(new SqlRetryStrategyOptions { IsIdempotent = true, Delay = TimeSpan.FromMilliseconds(100), MaxRetryAttempts = 5 }, connectionString)
            .Build();

        var requests = await RunUnderFaultsAsync(server.Loopback!, async () =>
        {
            await using var request = app.Services.CreateAsyncScope();
            var factory = request.ServiceProvider.GetRequiredService<ISqlConnectionFactory>();
            try
            {
                await read.ExecuteAsync(async cancellationToken =>
                {
                    await using var connection = await factory.OpenConnectionAsync(cancellationToken); // failures: classified by SafeSql's meter
                    recorder.Opened();
                    try
                    {
                        await ReadAsync(connection, cancellationToken);
                    }
                    catch (Exception ex)
                    {
                        recorder.Classified(ex); // a broken connection: classified here, retried by the read pipeline
                        throw;
                    }
                });
            }
            catch (Exception)
            {
                recorder.Surfaced(); // a failed request: SafeSql gave up
            }
        });

        return recorder.Finish(
            $"{Text.Count(requests)} requests, {Text.Count(recorder.FailuresSurfaced)} failed. SafeSql saw and classified every failure "
                + $"(see the errors by kind) and retried it: the failed logins after a backoff (its open pipeline), the broken idempotent read "
                + "on a fresh connection (AddSqlRetry).",
            new() { ["requests"] = requests, ["users"] = Users });
    }

    // 4.3 The load and the faults, on one clock. Returns the number of requests sent.
    private static async Task<long> RunUnderFaultsAsync(LoopbackSqlServer server, Func<Task> request)
    {
        var clock = Stopwatch.StartNew();
        long requests = 0;
        var users = Enumerable.Range(0, Users).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < s_loadEnds)
            {
                Interlocked.Increment(ref requests);
                await request();
                await Task.Delay(s_pause);
            }
        }));

        var restart = Task.Run(async () =>
        {
            await Task.Delay(s_stopAt);
            await server.StopAsync();                               // every session closed; new connections refused
            await Task.Delay(s_downtime);
            server.Faults.FailLoginsWithError = RecoveringError;    // the database is still recovering...
            await server.RestartAsync();                            // ...when the server listens again on the same port
            await Task.Delay(s_recovery);
            server.Faults.FailLoginsWithError = null;               // recovered
        });

        await Task.WhenAll(users.Append(restart));
        return requests;
    }

    private static async Task ReadAsync(SqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new SqlCommand("SELECT @id AS Id, 'Order' AS Name", connection);
        command.Parameters.AddWithValue("@id", 42);
        await command.ExecuteScalarAsync(cancellationToken);
    }

    private static ScenarioResult Result(RunFigures raw, RunFigures safeSql) => new()
    {
        Scenario = Id,
        Number = 4,
        Title = "A server restart and a refused-connection burst under load",
        Setup = $"{Users} users send requests (open, SELECT, dispose) back to back for {s_loadEnds.TotalSeconds:0.0} s. At {s_stopAt.TotalSeconds:0.0} s "
            + $"the server stops: every session closes and every new connection is refused for {s_downtime.TotalSeconds:0.0} s (SqlClient retries refused "
            + $"connects itself until Connect Timeout, so opens wait). Then it listens again but fails logins with error {RecoveringError} "
            + $"for {s_recovery.TotalSeconds:0.0} s while its database recovers. Both sides: {Settings}.",
        Raw = raw,
        SafeSql = safeSql,
        Verdict = raw.Skipped is not null
            ? "Skipped against a real server."
            : $"Raw callers saw {Text.Count(raw.FailuresSurfaced)} errors; SafeSql's callers saw {Text.Count(safeSql.FailuresSurfaced)}, and the "
                + $"{Text.Count(safeSql.Failures.Values.Sum())} failures it rode through are each classified.",
    };
}

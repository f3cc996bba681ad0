using System.Data.Common;
using System.Diagnostics;

using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

using SafeSql.Demo.Reporting;
using SafeSql.Demo.Running;
using SafeSql.EntityFrameworkCore;

namespace SafeSql.Demo.Scenarios;

/// <summary>
/// Scenario 6, a database outage: the server is down for a minute (a failover, a patch restart, a network cut) under 32
/// callers that loop open + <c>SELECT 1</c> + close, with raw pooled SqlClient, EF Core's <c>EnableRetryOnFailure</c>,
/// SafeSql, and EF Core through SafeSql (<c>UseSafeSql</c>), each with its default options, as a new user has them.
/// </summary>
/// <remarks>
/// <para>
/// The sides run at the same time, each against its own loopback server, on one clock: the servers stop together (every
/// session closes, every new connect is refused) and listen again together on the same ports. One outage's wall clock for
/// every run, and the same machine load for each.
/// </para>
/// <para>
/// What a raw caller meets is SqlClient's defaults: <c>Connect Timeout=15</c>, within which SqlClient retries a refused connect
/// itself, and the pool's blocking period (after a failed connect the pool replays its error to every open for 5 s, then 10,
/// 20, 40, up to 60 s, without trying the server). SafeSql's circuit breaker, on by default, sets
/// <c>Pool Blocking Period=NeverBlock</c> and fails opens at once while the server is known to be down. Opt-in (<c>--scenario outage</c>): a 60 s outage does not fit the default
/// run's minute; <c>--outage-seconds</c> sets its length.
/// </para>
/// </remarks>
internal static class Outage
{
    public const string Id = "outage";

    /// <summary>The outage's length without <c>--outage-seconds</c>.</summary>
    public const int DefaultOutageSeconds = 60;

    /// <summary>The shortest outage <c>--outage-seconds</c> takes.</summary>
    public const int MinOutageSeconds = 5;

    /// <summary>The longest outage <c>--outage-seconds</c> takes.</summary>
    public const int MaxOutageSeconds = 600;

    private const int Callers = 32;
    private const string Query = "SELECT 1";
    private static readonly TimeSpan s_pause = TimeSpan.FromMilliseconds(10); // between one caller's calls
    private static readonly TimeSpan s_warmUp = TimeSpan.FromSeconds(2);      // the pools fill before the server goes down
    private static readonly TimeSpan s_minAfterReturn = TimeSpan.FromSeconds(15);

    /// <summary>The caller's budget: SqlClient's default <c>Connect Timeout</c>, which none of the sides changes.</summary>
    private static readonly TimeSpan s_budget = TimeSpan.FromSeconds(15);

    /// <summary>How long the end waits for calls in flight (canceled; raw SqlClient's open may finish its connect first).</summary>
    private static readonly TimeSpan s_drain = s_budget + TimeSpan.FromSeconds(5);

    public static async Task<ScenarioResult> RunAsync(DemoOptions options)
    {
        var outage = TimeSpan.FromSeconds(options.OutageSeconds ?? DefaultOutageSeconds);
        var afterReturn = outage / 2 > s_minAfterReturn ? outage / 2 : s_minAfterReturn;
        if (options.ConnectionString is not null)
        {
            var skipped = RunFigures.SkippedRun("it stops and restarts the loopback server");
            return Result(outage, afterReturn, [new("raw", "raw SqlClient", skipped, null), new("ef-core", "EF Core retrying", skipped, null), new("safesql", "SafeSql", skipped, null), new("ef-core-safesql", "EF Core + UseSafeSql", skipped, null)], []);
        }

        var clock = Stopwatch.StartNew();
        await using var rawServer = await DemoServer.StartLoopbackAsync();
        await using var efServer = await DemoServer.StartLoopbackAsync();
        await using var safeSqlServer = await DemoServer.StartLoopbackAsync();
        await using var efSafeSqlServer = await DemoServer.StartLoopbackAsync();
        await using var safeSqlDataSource = SafeSqlDataSource.Create(safeSqlServer.ConnectionString("SafeSql.Demo outage"));
        await using var efDataSource = SafeSqlDataSource.Create(efSafeSqlServer.ConnectionString("SafeSql.Demo outage EF Core"));
        Side[] sides =
        [
            RawSide(rawServer, clock),
            EfCoreSide(efServer, clock),
            SafeSqlSide(safeSqlServer, safeSqlDataSource, clock),
            EfCoreSafeSqlSide(efSafeSqlServer, efDataSource, clock),
        ];

        // 6.1 The load: 32 callers per side, each looping open + SELECT 1 + close until the end.
        using var end = new CancellationTokenSource();
        var callers = sides
            .SelectMany(side => Enumerable.Range(0, Callers).Select(caller => Task.Run(() => LoopAsync(side, caller, end.Token))))
            .ToArray();

        // 6.2 The outage, on one clock for every server: down together, back together (listening and accepting logins).
        TimeSpan downAt, returnAt, endAt;
        try
        {
            await Task.Delay(s_warmUp);
            downAt = clock.Elapsed;
            await Task.WhenAll(sides.Select(static side => side.Server.Loopback!.StopAsync()));
            await DelayUntilAsync(clock, downAt + outage);
            await Task.WhenAll(sides.Select(static side => side.Server.Loopback!.RestartAsync()));
            returnAt = clock.Elapsed;
            await DelayUntilAsync(clock, returnAt + afterReturn);
            endAt = clock.Elapsed;
        }
        finally
        {
            // 6.3 The end (or a failed stop or restart): no new calls; calls in flight are canceled and given the budget to notice.
            await end.CancelAsync();
            await Task.WhenAny(Task.WhenAll(callers), Task.Delay(s_drain));
        }

        var runs = sides.Select(side =>
        {
            var figures = OutageFigures.Compute(side.Timeline.Freeze(), downAt, returnAt, endAt, s_budget);
            var details = figures.ToDetails();
            details["callers"] = Callers;
            details["outageSeconds"] = (long)outage.TotalSeconds;
            return new SideRun(side.Id, side.Label, side.Recorder.Finish(Summary(figures, afterReturn), details), figures);
        }).ToArray();
        string[] notes =
        [
            $"The servers stopped at {Text.Seconds(Ms(downAt))} and listened again at {Text.Seconds(Ms(returnAt))}; new calls stopped at {Text.Seconds(Ms(endAt))}.",
            .. runs.Select(FailuresByPhase).OfType<string>(),
            .. Explanations(sides),
        ];
        return Result(outage, afterReturn, runs, notes);
    }

    // 6.1.1 Raw SqlClient, pooled: the code as it usually ships.
    private static Side RawSide(DemoServer server, Stopwatch clock)
    {
        var connectionString = server.ConnectionString("SafeSql.Demo outage raw");
        var recorder = new RunRecorder(server);
        return new Side("raw", "raw SqlClient", server, recorder, new CallTimeline(clock), async cancellationToken =>
        {
            await using var connection = new SqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            recorder.Opened();
            await SelectOneAsync(connection, cancellationToken);
        });
    }

    // 6.1.2 EF Core with EnableRetryOnFailure (6 retries, exponential backoff up to 30 s): the context opens and closes the
    // connection around the statement, inside its execution strategy.
    private static Side EfCoreSide(DemoServer server, Stopwatch clock)
    {
        var recorder = new RunRecorder(server);
        var contextOptions = new DbContextOptionsBuilder<OutageContext>()
            .UseSqlServer(server.ConnectionString("SafeSql.Demo outage EF Core"), static sql => sql.EnableRetryOnFailure())
            .AddInterceptors(new OpenCounter(recorder))
            .Options;
        return new Side("ef-core", "EF Core retrying", server, recorder, new CallTimeline(clock), async cancellationToken =>
        {
            await using var context = new OutageContext(contextOptions);
            await context.Database.ExecuteSqlRawAsync(Query, cancellationToken);
        });
    }

    // 6.1.3 SafeSql: SafeSqlDataSource.Create with the default options; OpenConnectionAsync classifies and retries, and fails at
    // once while the data source's circuit breaker is open (SqlServerUnavailableException).
    private static Side SafeSqlSide(DemoServer server, SafeSqlDataSource dataSource, Stopwatch clock)
    {
        var recorder = new RunRecorder(server);
        return new Side("safesql", "SafeSql", server, recorder, new CallTimeline(clock), async cancellationToken =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            recorder.Opened();
            await SelectOneAsync(connection, cancellationToken);
        });
    }

    // 6.1.4 EF Core through SafeSql: UseSafeSql(dataSource) gives the context its connections from the data source and sets
    // SafeSqlExecutionStrategy, which retries what SafeSql's classifier says deserves a retry.
    private static Side EfCoreSafeSqlSide(DemoServer server, SafeSqlDataSource dataSource, Stopwatch clock)
    {
        var recorder = new RunRecorder(server);
        var contextOptions = new DbContextOptionsBuilder<OutageContext>()
            .UseSafeSql(dataSource)
            .AddInterceptors(new OpenCounter(recorder))
            .Options;
        return new Side("ef-core-safesql", "EF Core + UseSafeSql", server, recorder, new CallTimeline(clock), async cancellationToken =>
        {
            await using var context = new OutageContext(contextOptions);
            await context.Database.ExecuteSqlRawAsync(Query, cancellationToken);
        });
    }

    /// <summary>One caller: calls back to back (a short pause between), each timed; a failure is classified after its end.</summary>
    private static async Task LoopAsync(Side side, int caller, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var start = side.Timeline.Start(caller);
            Exception? failure = null;
            CallOutcome outcome;
            try
            {
                await side.Call(stop);
                outcome = CallOutcome.Succeeded;
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                outcome = CallOutcome.StillRunning; // canceled at the end: neither a success nor a failure
            }
            catch (Exception ex)
            {
                failure = ex;
                outcome = CallOutcome.Failed;
            }

            var end = side.Timeline.Now;
            var kind = failure is null ? (SqlFailureKind?)null : (await side.Recorder.FailedAsync(failure)).Kind;
            side.Timeline.Record(caller, new TimedCall(start, end, outcome, kind));

            try
            {
                await Task.Delay(s_pause, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task SelectOneAsync(SqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new SqlCommand(Query, connection);
        await command.ExecuteScalarAsync(cancellationToken);
    }

    private static async Task DelayUntilAsync(Stopwatch clock, TimeSpan at)
    {
        var left = at - clock.Elapsed;
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left);
        }
    }

    /// <summary>The side's failures by kind, while the server was down and after its return.</summary>
    private static string? FailuresByPhase(SideRun run) => run.Outage is { } f && f.FailuresWhileDown + f.ErrorsAfterReturn > 0
        ? $"{run.Label}: while down {Kinds(f.FailuresWhileDownByKind)}; after the return {Kinds(f.ErrorsAfterReturnByKind)}; "
            + $"the slowest failure of each kind {string.Join(", ", f.SlowestFailureByKindMs.Select(static k => $"{k.Key} {Text.Duration(k.Value)}"))}; "
            + $"{Text.Count(f.HeldAfterReturn)} calls after the return succeeded in more than {OutageFigures.HeldThreshold.TotalSeconds:0} s; "
            + $"of the {Text.Count(f.CallsStartedLater)} calls started {OutageFigures.HeldThreshold.TotalSeconds:0} s or more after it, {Text.Count(f.FailuresStartedLater)} failed."
        : null;

    /// <summary>One line per kind of error the callers got: the exception and the start of SafeSql's explanation of it (two
    /// sentences: when SqlClient lost the socket error, the first says so and the second what the operating system showed).</summary>
    private static IEnumerable<string> Explanations(Side[] sides) => sides
        .SelectMany(static side => Enum.GetValues<SqlFailureKind>().Select(kind => side.Recorder.Example(kind)))
        .OfType<SqlFailure>()
        .DistinctBy(static failure => failure.Kind)
        .Select(static failure =>
            $"{failure.Kind}: {failure.Exception?.GetType().Name}{(failure.SqlErrorNumber is { } n ? $" {n}" : string.Empty)}. {Text.FirstSentences(failure.Explanation, 2)}");

    private static string Kinds(SortedDictionary<string, long> kinds) =>
        kinds.Count == 0 ? "none" : string.Join(", ", kinds.OrderByDescending(static k => k.Value).Select(static k => $"{k.Key} {Text.Count(k.Value)}"));

    private static string Summary(OutageFigures f, TimeSpan afterReturn)
    {
        var down = f.FailuresWhileDown == 0
            ? "No call failed while the server was down"
            : $"{Text.Count(f.FailuresWhileDown)} calls failed while the server was down (in {Text.Duration(f.TimeToFailP50Ms)} at the median, {Text.Duration(f.TimeToFailP99Ms)} at p99)";
        var back = f.ServiceBackAfterReturnMs is { } ms
            ? $"service was back {Text.Duration(ms)} after the server's return"
            : $"service was not back {Text.Seconds((long)afterReturn.TotalMilliseconds)} after the server's return";
        return $"{down}; the slowest call took {Text.Duration(f.SlowestCallMs)} ({Text.Count(f.CallsOverBudget)} calls over {s_budget.TotalSeconds:0} s); "
            + $"{back}, with {Text.Count(f.ErrorsAfterReturn)} errors after it returned.";
    }

    private static ScenarioResult Result(TimeSpan outage, TimeSpan afterReturn, SideRun[] runs, string[] notes)
    {
        var (raw, safeSql) = (runs[0], runs[2]);
        return new()
        {
            Scenario = Id,
            Number = 6,
            Title = $"A database outage: the server down {outage.TotalSeconds:0} s under {Callers} callers",
            Setup = $"{Callers} callers per side loop open + {Query} + close ({s_pause.TotalMilliseconds:0} ms between calls). After {s_warmUp.TotalSeconds:0} s the "
                + $"server stops (every session closes, every connect is refused) for {outage.TotalSeconds:0} s, then listens again on the same port; the load "
                + $"goes on {afterReturn.TotalSeconds:0} s after its return. Four sides at the same time, each against its own loopback server, each with its "
                + $"default options (Connect Timeout=15): raw pooled SqlClient and EF Core with EnableRetryOnFailure(), both with the pool's blocking period, "
                + "SafeSqlDataSource.OpenConnectionAsync, whose circuit breaker sets Pool Blocking Period=NeverBlock, and EF Core with UseSafeSql(dataSource). "
                + "Errors by kind: the errors the callers got.",
            Raw = raw.Figures,
            SafeSql = safeSql.Figures,
            Runs = [.. runs.Select(static r => new LabeledRun(r.Id, r.Label, r.Figures))],
            SecondTable = raw.Outage is null ? null :
            [
                ["run", "calls", "failed while down", "time to fail p50 / p99", "slowest call", "over 15 s", "first success after return", "service back after return", "errors after return"],
                .. runs.Select(static r => new[]
                {
                    r.Label,
                    Text.Count(r.Outage!.Calls),
                    Text.Count(r.Outage.FailuresWhileDown),
                    $"{Text.Duration(r.Outage.TimeToFailP50Ms)} / {Text.Duration(r.Outage.TimeToFailP99Ms)}",
                    Text.Duration(r.Outage.SlowestCallMs),
                    Text.Count(r.Outage.CallsOverBudget),
                    Text.Duration(r.Outage.FirstSuccessAfterReturnMs),
                    r.Outage.ServiceBackAfterReturnMs is { } back ? Text.Duration(back) : "not back",
                    Text.Count(r.Outage.ErrorsAfterReturn),
                }),
            ],
            Notes = notes,
            Verdict = raw.Outage is null ? "Skipped against a real server." : Verdict(runs),
        };
    }

    private static string Verdict(SideRun[] runs)
    {
        static string Back(OutageFigures f) => f.ServiceBackAfterReturnMs is { } ms ? $"back {Text.Duration(ms)} after the return" : "not back by the end";
        return string.Join("; ", runs.Select(static r =>
            $"{r.Label}: {Text.Count(r.Outage!.FailuresWhileDown)} failures while down, slowest call {Text.Duration(r.Outage.SlowestCallMs)}, {Back(r.Outage)}")) + ".";
    }

    private static long Ms(TimeSpan span) => (long)span.TotalMilliseconds;

    /// <summary>One side of the scenario: its server, its recorder and timeline, and one call (open + SELECT 1 + close).</summary>
    private sealed record Side(string Id, string Label, DemoServer Server, RunRecorder Recorder, CallTimeline Timeline, Func<CancellationToken, Task> Call);

    private sealed record SideRun(string Id, string Label, RunFigures Figures, OutageFigures? Outage);

    /// <summary>The smallest EF Core context: the statement is raw SQL, no model.</summary>
    private sealed class OutageContext(DbContextOptions<OutageContext> options) : DbContext(options);

    /// <summary>Counts the connections EF Core opened, for the table's "opens".</summary>
    private sealed class OpenCounter(RunRecorder recorder) : DbConnectionInterceptor
    {
        public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            recorder.Opened();
            return Task.CompletedTask;
        }
    }
}

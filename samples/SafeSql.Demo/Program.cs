// The SafeSql demo: the connection failures met in production, played for real against a loopback SQL Server (real TCP,
// the real Microsoft.Data.SqlClient), first with raw SqlClient, then with SafeSql. docs/demo.md explains each scenario.
//
//   dotnet run --project samples/SafeSql.Demo -c Release                                 the five scenarios, as tables
//   dotnet run --project samples/SafeSql.Demo -c Release -- --json                       the same figures as JSON
//   dotnet run --project samples/SafeSql.Demo -c Release -- --scenario leak-loop         one scenario
//   dotnet run --project samples/SafeSql.Demo -c Release -- --scenario outage            opt-in: the server down 60 s
//                                                                  (--outage-seconds N for another length)
//   dotnet run --project samples/SafeSql.Demo -c Release -- check "Server=db;Pooling=false"
//                                                       the policy's verdict: exit 0 accepted, 2 refused (never the password)
//   dotnet run --project samples/SafeSql.Demo -c Release -- serve --port 14330            only the loopback server
//                      (check and serve are the safesql tool's, src/SafeSql.Tool, run in this process; doctor is there too)
//   dotnet run --project samples/SafeSql.Demo -c Release -- --connection-string "..."     the safe scenarios, real server
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

using Microsoft.Data.SqlClient;

using SafeSql;
using SafeSql.ConnectionStrings;
using SafeSql.Demo;
using SafeSql.Demo.Reporting;
using SafeSql.Demo.Scenarios;
using SafeSql.Tool;

// 0. Process settings. Figures print the same everywhere. A synchronous SqlClient open blocks a thread-pool thread
// while it connects, and SqlClient retries a refused connect itself until Connect Timeout; the loopback server
// shares this process, so give the thread pool the headroom a busy service would have.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
ThreadPool.SetMinThreads(workerThreads: 200, completionPortThreads: 200);

// 1. The commands.
return args switch
{
    ["check", _] or ["serve", ..] => await SafeSqlCommandLine.RunAsync(args, Console.Out, Console.Error, Console.IsOutputRedirected),
    [LunchBurst.NamespaceCommand, var side] => await LunchBurst.RunNamespaceCommandAsync(side), // hidden: see LunchBurst
    [ManyWebServers.HostCommand, .. var rest] => await ManyWebServers.RunHostCommandAsync(rest), // hidden: one host of the web farm
    _ when TryParseRun(args) is { } options => await RunScenariosAsync(options),
    _ => Usage(),
};

// 2. The scenarios, one after the other; each runs raw SqlClient, then SafeSql, against fresh servers. An opt-in scenario
// runs only when named with --scenario: the outage takes longer than the default run's minute.
static async Task<int> RunScenariosAsync(DemoOptions options)
{
    if (options.ConnectionString is { } real)
    {
        // A real server: the string must pass SafeSql's policy, and the server must answer (fail fast rather than in a scenario).
        if (!SqlConnectionStringPolicy.Validate(real).IsAccepted)
        {
            Console.Error.WriteLine("The connection string given with --connection-string is refused by SafeSql's policy:");
            return await SafeSqlCommandLine.RunAsync(["check", real], Console.Error, Console.Error, outputRedirected: true);
        }

        try
        {
            await using var connection = new SqlConnection(real);
            await connection.OpenAsync();
        }
        catch (Exception ex)
        {
            var failure = SqlFailureClassifier.Classify(ex, new SqlConnectionStringBuilder(real).DataSource);
            Console.Error.WriteLine($"The server given with --connection-string cannot be reached ({failure.Kind}): {ex.Message}");
            return 1;
        }
    }

    (string Id, Func<DemoOptions, Task<ScenarioResult>> Run, bool OptIn)[] scenarios =
    [
        (LeakLoop.Id, LeakLoop.RunAsync, false),     // 1. an exception skips Close(), in a loop
        (LunchBurst.Id, LunchBurst.RunAsync, false), // 2. 1,000 users x 4 records with Pooling=false
        (Hacks.Id, Hacks.RunAsync, false),           // 3. the connection-string hacks from the field
        (Restart.Id, Restart.RunAsync, false),       // 4. a server restart and a refused-connection burst under load
        (ManyWebServers.Id, ManyWebServers.RunAsync, false), // 5. many web servers reconnect at once into a full listen backlog
        (Outage.Id, Outage.RunAsync, true),          // 6. the server down a minute under 32 callers (opt-in)
    ];

    var clock = Stopwatch.StartNew();
    if (!options.Json)
    {
        ConsoleReport.WriteHeader(Console.Out, options.ConnectionString is null ? "a loopback SQL Server on 127.0.0.1 (SafeSql.Testing), fresh for each run" : "the real SQL Server given with --connection-string");
    }

    var results = new List<ScenarioResult>();
    foreach (var (id, run, _) in scenarios.Where(s => options.Scenario is null ? !s.OptIn : s.Id == options.Scenario))
    {
        ScenarioResult result;
        try
        {
            result = await run(options);
        }
        catch (Exception ex) // e.g. the server given with --connection-string cannot be reached (messages hold no password)
        {
            Console.Error.WriteLine($"The scenario {id} could not run: {ex.GetType().Name}: {ex.Message}");
            return 1;
        }

        results.Add(result);
        if (!options.Json)
        {
            ConsoleReport.Write(Console.Out, result);
        }
    }

    // 3. The report: tables as each scenario ends (above), or one JSON array for scripts.
    if (options.Json)
    {
        Console.WriteLine(JsonSerializer.Serialize(results, DemoJson.Options));
    }
    else
    {
        Console.WriteLine($"{results.Count} scenario{(results.Count == 1 ? "" : "s")} in {Text.Seconds(clock.ElapsedMilliseconds)}.");
    }

    return 0;
}

static DemoOptions? TryParseRun(string[] args)
{
    var options = new DemoOptions();
    for (var i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--json":
                options = options with { Json = true };
                break;
            case "--connection-string" when i + 1 < args.Length:
                options = options with { ConnectionString = args[++i] };
                break;
            case "--scenario" when i + 1 < args.Length && args[i + 1] is LeakLoop.Id or LunchBurst.Id or Hacks.Id or Restart.Id or ManyWebServers.Id or Outage.Id:
                options = options with { Scenario = args[++i] };
                break;
            case "--outage-seconds" when i + 1 < args.Length
                && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                && seconds is >= Outage.MinOutageSeconds and <= Outage.MaxOutageSeconds:
                options = options with { OutageSeconds = seconds };
                i++;
                break;
            default:
                return null;
        }
    }

    // --outage-seconds belongs to the outage scenario, which runs only when named.
    return options.OutageSeconds is null || options.Scenario == Outage.Id ? options : null;
}

static int Usage()
{
    Console.Error.WriteLine("""
        Usage: SafeSql.Demo [--json] [--scenario leak-loop|lunch-burst|hacks|restart|web-farm] [--connection-string "<connection string>"]
               SafeSql.Demo [--json] --scenario outage [--outage-seconds 5-600]    opt-in: the server down 60 s (or N) under load
               SafeSql.Demo check "<connection string>"    exit code 0 when accepted, 2 when refused
               SafeSql.Demo serve [--port N] [--user NAME] [--password PASSWORD]    only the loopback server, until Ctrl+C
        check and serve are the safesql tool's (src/SafeSql.Tool), which also has doctor.
        """);
    return 1;
}

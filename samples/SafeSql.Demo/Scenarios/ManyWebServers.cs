using System.Globalization;
using System.Text.Json.Nodes;

using SafeSql.Demo.Reporting;
using SafeSql.Farm;
using SafeSql.Testing.Network;

namespace SafeSql.Demo.Scenarios;

/// <summary>
/// Scenario 5, many web servers against one SQL Server: a web farm on this machine (SafeSql.Testing's <see cref="WebFarm"/>:
/// a server host and 8 client hosts, each its own network namespace) reconnects all at once after a server restart into a
/// listen backlog of 8 that resets on overflow; then the same with the server down; then the lunch burst spread over 4 hosts.
/// </summary>
/// <remarks>
/// Every host runs this demo again with the hidden command <see cref="HostCommand"/> (FarmProgram.cs: the loopback server on
/// the server host, a web server with its own SqlClient pools on each client host), driven line by line; the figures come
/// back as JSON. Needs Linux and root (network namespaces); elsewhere, and against a real server, the scenario is skipped.
/// </remarks>
internal static class ManyWebServers
{
    public const string Id = "web-farm";

    /// <summary>The hidden command that runs one host of the farm: <c>__web-farm serve|client ...</c>.</summary>
    public const string HostCommand = "__web-farm";

    private const int ClientHosts = 8;
    private const int RequestsPerHost = 50;
    private const int PoolsPerHost = 4;
    private const int Backlog = 8;
    private const int AcceptDelayMs = 20;
    private const int ConnectTimeoutSeconds = 3;
    private const int SafeSqlRetries = 8;
    private const int DownRequestsPerHost = 5;
    private const int DownRequestTimeoutMs = 8000;
    private const int LunchHosts = 4;
    private const int LunchUsers = 1_000;
    private const int LunchRecordsPerUser = 4;
    private const int LunchConcurrentUsersPerHost = 25;
    private const int LunchBacklog = 512;
    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromSeconds(60);

    // The requests' settings, the same for every run but the mode: Connect Timeout 3 s (SqlClient retries a failed connect
    // itself until then), the pool's blocking period off (as scenario 4), 50 requests at once per host spread over 4 pools
    // (4 databases on the server: SqlClient opens one new connection at a time per pool, so one pool per host would never
    // have more than 8 connects in flight), each request bounded by 15 s.
    private static readonly string s_storm = string.Create(
        CultureInfo.InvariantCulture,
        $"requests={RequestsPerHost} concurrency={RequestsPerHost} connectTimeout={ConnectTimeoutSeconds} requestTimeoutMs=15000 pools={PoolsPerHost} neverBlock=1 retries={SafeSqlRetries} delayMs=250 maxDelayMs=3000");

    public static async Task<ScenarioResult> RunAsync(DemoOptions options)
    {
        var skipped = options.ConnectionString is not null
            ? "the farm runs its own loopback server on the farm's server host; it does not load a real server"
            : WebFarm.UnsupportedReason;
        if (skipped is not null)
        {
            var run = Skipped(skipped);
            return Result(run, run, run, run, run, run, run, $"Skipped: {skipped}.");
        }

        await using var driver = await FarmDriver.StartAsync(
            typeof(ManyWebServers).Assembly.Location,
            [HostCommand],
            new WebFarmOptions { ClientHosts = ClientHosts, ServerAbortOnOverflow = true, ServerSynCookies = 0 },
            s_commandTimeout);

        // 5.1 The restart storm, three times: raw Pooling=false (Open() on thread-pool threads, as classic ASP.NET: OpenAsync
        // of a non-pooled connection waits in SqlClient's per-process queue of ProcessorCount pending opens), raw pooled, SafeSql.
        var rawUnpooled = await StormAsync(driver, FarmProgram.ModeRawUnpooled, "sync=1");
        var rawPooled = await StormAsync(driver, FarmProgram.ModeRawPooled, string.Empty);
        var safeSql = await StormAsync(driver, FarmProgram.ModeSafeSql, string.Empty);

        // 5.2 The server down: raw on hosts 1-4, SafeSql on hosts 5-8, at the same time.
        var (downRaw, downSafeSql) = await ServerDownAsync(driver);

        // 5.3 The lunch burst over 4 hosts, each with ports 1024-5000, against a server with a normal backlog.
        var lunchRaw = await LunchAsync(driver, FarmProgram.ModeRawUnpooled, "sync=1", firstHost: 1);
        var lunchSafeSql = await LunchAsync(driver, FarmProgram.ModeSafeSql, "maxPoolSize=50", firstHost: LunchHosts + 1);

        return Result(rawUnpooled, rawPooled, safeSql, downRaw, downSafeSql, lunchRaw, lunchSafeSql, Verdict(rawUnpooled, rawPooled, safeSql, downRaw, downSafeSql, lunchRaw));
    }

    private static ScenarioResult Result(RunFigures rawUnpooled, RunFigures rawPooled, RunFigures safeSql, RunFigures downRaw, RunFigures downSafeSql, RunFigures lunchRaw, RunFigures lunchSafeSql, string verdict) => new()
    {
        Scenario = Id,
        Number = 5,
        Title = "Many web servers against one SQL Server: a reconnect storm into a full listen backlog",
        Setup = $"A web farm on this machine: a server host and {ClientHosts} client hosts, each its own network namespace (ports 1024-5000, tcp_tw_reuse=0), "
            + $"joined by a bridge. The loopback SQL Server listens with a backlog of {Backlog} and accepts one connection every {AcceptDelayMs} ms; the server host "
            + "resets a handshake that meets a full accept queue (tcp_abort_on_overflow=1, tcp_syncookies=0), as the Microsoft article describes. After a server "
            + $"restart every host sends {RequestsPerHost} requests at once over {PoolsPerHost} pools (Connect Timeout={ConnectTimeoutSeconds}, Pool Blocking Period=NeverBlock); "
            + $"SafeSql retries up to {SafeSqlRetries} times with jittered backoff. Then the server is down ({DownRequestsPerHost} requests per host, {DownRequestTimeoutMs / 1000} s per request), "
            + $"then the lunch burst ({LunchUsers:N0} users x {LunchRecordsPerUser} records) over {LunchHosts} hosts against a backlog of {LunchBacklog}.",
        Raw = rawUnpooled,
        SafeSql = safeSql,
        Runs =
        [
            new("restart-raw-unpooled", "restart: raw Pooling=false", rawUnpooled),
            new("restart-raw-pooled", "restart: raw pooled", rawPooled),
            new("restart-safesql", "restart: SafeSql", safeSql),
            new("down-raw", "server down: raw", downRaw),
            new("down-safesql", "server down: SafeSql", downSafeSql),
            new("lunch-raw", $"lunch, hosts 1-{LunchHosts}: raw", lunchRaw),
            new("lunch-safesql", $"lunch, hosts {LunchHosts + 1}-{2 * LunchHosts}: SafeSql", lunchSafeSql),
        ],
        Verdict = verdict,
    };

    /// <summary>The hidden command on a host of the farm.</summary>
    public static Task<int> RunHostCommandAsync(string[] args) => FarmProgram.RunAsync(args);

    // 5.1 Warm the pools, restart the server (every pooled connection dies), then every host's requests at once.
    private static async Task<RunFigures> StormAsync(FarmDriver driver, string mode, string extra)
    {
        await driver.ServerAsync(Start(Backlog, AcceptDelayMs), s_commandTimeout);
        if (mode != FarmProgram.ModeRawUnpooled)
        {
            await driver.ClientsAsync($"warm mode={mode} count=1 {s_storm}", s_commandTimeout);
        }

        await driver.ServerAsync(Start(Backlog, AcceptDelayMs), s_commandTimeout); // the restart
        var before = await driver.Farm.ReadListenCountersAsync();
        var hosts = await driver.ClientsAsync($"run mode={mode} {s_storm} {extra}", s_commandTimeout);
        var after = await driver.Farm.ReadListenCountersAsync();
        var accepted = Accepted(await driver.ServerAsync(Start(Backlog, AcceptDelayMs), s_commandTimeout));
        var figures = Aggregate(hosts, accepted, before, after);
        var failed = figures.FailuresSurfaced;
        var seen = figures.Failures.Values.Sum();
        figures = With(figures, mode == FarmProgram.ModeSafeSql
            ? $"{figures.Opens:N0} of {hosts.Length * RequestsPerHost:N0} requests served, {failed:N0} failed. SafeSql saw {seen:N0} failed attempts ({Kinds(figures)}) and retried "
                + $"{figures.Detail<long>("retries"):N0} of them after jittered delays of {figures.Detail<string>("retryDelaySpread")}; the storm drained in {Text.Seconds(figures.Detail<long>("drainMs"))}. "
                + $"The server host counted {figures.Detail<long>("listenOverflows"):N0} accept-queue overflows and sent {figures.Detail<long>("resetsSent"):N0} resets"
                + (failed == 0 ? "." : $"; what failed was {Kinds((SortedDictionary<string, long>)figures.Details["surfacedByKind"]!)}, which SafeSql does not retry.")
            : $"{figures.Opens:N0} of {hosts.Length * RequestsPerHost:N0} requests served, {failed:N0} failed ({Kinds(figures)}). The server host counted "
                + $"{figures.Detail<long>("listenOverflows"):N0} accept-queue overflows and sent {figures.Detail<long>("resetsSent"):N0} resets; SqlClient retries a reset "
                + $"connect itself until Connect Timeout, so most callers see the last attempt's timeout (a SYN dropped on a full queue is resent after 1 s, then 3 s).");
        return figures;
    }

    // 5.2 Nothing listens: every attempt is refused at once.
    private static async Task<(RunFigures Raw, RunFigures SafeSql)> ServerDownAsync(FarmDriver driver)
    {
        await driver.ServerAsync("stop", s_commandTimeout);
        var line = string.Create(CultureInfo.InvariantCulture, $"requests={DownRequestsPerHost} concurrency={DownRequestsPerHost} connectTimeout={ConnectTimeoutSeconds} requestTimeoutMs={DownRequestTimeoutMs} neverBlock=1 retries={SafeSqlRetries} delayMs=250 maxDelayMs=3000");
        var before = await driver.Farm.ReadListenCountersAsync();
        var half = ClientHosts / 2;
        var raw = driver.ClientsAsync($"run mode={FarmProgram.ModeRawPooled} {line}", s_commandTimeout, Enumerable.Range(1, half));
        var safeSql = driver.ClientsAsync($"run mode={FarmProgram.ModeSafeSql} {line}", s_commandTimeout, Enumerable.Range(half + 1, ClientHosts - half));
        await Task.WhenAll(raw, safeSql);
        var after = await driver.Farm.ReadListenCountersAsync();
        var rawFigures = Aggregate(await raw, 0, before, after);
        var safeSqlFigures = Aggregate(await safeSql, 0, before, after);
        return (
            With(rawFigures, $"All {rawFigures.FailuresSurfaced:N0} requests failed ({Kinds(rawFigures)}, {rawFigures.Detail<long>("requestTimeouts"):N0} by the request's own timeout while queued in the pool): "
                + "nothing listens, every connect is refused; SqlClient retried each until Connect Timeout."),
            With(safeSqlFigures, $"All {safeSqlFigures.FailuresSurfaced:N0} requests failed within their {DownRequestTimeoutMs / 1000} s ({safeSqlFigures.Detail<long>("requestTimeouts"):N0} by the request's own timeout); "
                + $"every one of the {safeSqlFigures.Failures.Values.Sum():N0} failed attempts was {Kinds(safeSqlFigures)}, none called an overflow."));
    }

    // 5.3 The lunch burst, a quarter of the users on each of 4 hosts.
    private static async Task<RunFigures> LunchAsync(FarmDriver driver, string mode, string extra, int firstHost)
    {
        await driver.ServerAsync(Start(LunchBacklog, 0), s_commandTimeout);
        var records = LunchUsers * LunchRecordsPerUser / LunchHosts;
        var before = await driver.Farm.ReadListenCountersAsync();
        var hosts = await driver.ClientsAsync(
            string.Create(CultureInfo.InvariantCulture, $"run mode={mode} requests={records} concurrency={LunchConcurrentUsersPerHost} connectTimeout=5 requestTimeoutMs=15000 {extra}"),
            s_commandTimeout,
            Enumerable.Range(firstHost, LunchHosts));
        var after = await driver.Farm.ReadListenCountersAsync();
        var accepted = Accepted(await driver.ServerAsync(Start(LunchBacklog, 0), s_commandTimeout));
        var figures = Aggregate(hosts, accepted, before, after);
        var perHost = hosts.Select(h => new Dictionary<string, object?>
        {
            ["host"] = (int)h["host"]!,
            ["records"] = (long)h["requests"]!,
            ["served"] = (long)h["succeeded"]!,
            ["failed"] = (long)h["failed"]!,
            ["ephemeralPorts"] = (int)h["tcp"]!["ephemeralPorts"]!,
            ["timeWaitTowardsServer"] = (long)h["tcp"]!["timeWaitTowardsServer"]!,
            ["indicatesExhaustion"] = (bool)h["tcp"]!["indicatesExhaustion"]!,
        }).ToList();
        figures.Details["perHost"] = perHost;
        var timeWait = perHost.Max(static h => (long)h["timeWaitTowardsServer"]!);
        var ports = perHost.Max(static h => (int)h["ephemeralPorts"]!);
        figures.Details["maxTimeWaitPerHost"] = timeWait;
        figures.Details["portsPerHost"] = ports;
        return With(figures, mode == FarmProgram.ModeRawUnpooled
            ? $"{figures.Opens:N0} of {records * LunchHosts:N0} records served. Each host left up to {timeWait:N0} of its {ports:N0} ports in TIME_WAIT towards the server "
                + $"({100.0 * timeWait / ports:0} %): spread over {LunchHosts} hosts the burst fits, but {Math.Max(1, ports / Math.Max(1, timeWait))} such bursts within 60 s exhaust a host "
                + "(one host alone, scenario 2, runs out)."
            : $"{figures.Opens:N0} of {records * LunchHosts:N0} records served with {figures.TcpConnections:N0} TCP connections in all (Max Pool Size=50 per host); "
                + $"at most {timeWait:N0} ports per host in TIME_WAIT (hosts {firstHost}-{firstHost + LunchHosts - 1}, the restart storms' included).");
    }

    private static string Start(int backlog, int acceptDelayMs) => string.Create(CultureInfo.InvariantCulture, $"start {backlog} {acceptDelayMs}");

    private static long Accepted(JsonObject started) => (long?)started["previous"]?["tcpConnectionsAccepted"] ?? 0;

    /// <summary>Sums the hosts' answers into one run's figures.</summary>
    private static RunFigures Aggregate(JsonObject[] hosts, long accepted, WebFarmListenCounters before, WebFarmListenCounters after)
    {
        var failures = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var numbers = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var surfaced = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var shapes = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var host in hosts)
        {
            Sum(failures, host["attemptFailuresByKind"]!.AsObject());
            Sum(numbers, host["attemptFailuresByNumber"]!.AsObject());
            Sum(surfaced, host["failuresByKind"]!.AsObject());
            foreach (var shape in host["shapes"]!.AsArray().Select(static s => s!.AsObject()))
            {
                var key = $"{shape["kind"]}|{shape["number"]}|{shape["innerType"]}|{shape["innerSocketError"]}|{shape["type"]}";
                if (shapes.TryGetValue(key, out var known))
                {
                    known["count"] = (long)known["count"]! + (long)shape["count"]!;
                }
                else
                {
                    shapes[key] = (JsonObject)shape.DeepClone();
                }
            }
        }

        var delays = hosts.SelectMany(static h => h["retryDelaysMs"]!.AsArray().Select(static d => (long)d!)).Order().ToArray();
        return new RunFigures
        {
            Summary = string.Empty,
            Opens = hosts.Sum(static h => (long)h["succeeded"]!),
            Failures = failures,
            FailuresSurfaced = hosts.Sum(static h => (long)h["failed"]!),
            PoolTimeouts = failures.GetValueOrDefault(nameof(SqlFailureKind.PoolTimeout)),
            TcpConnections = accepted,
            ElapsedMs = hosts.Max(static h => (long)h["elapsedMs"]!),
            Details = new()
            {
                ["sqlClient"] = (string?)hosts[0]["sqlClient"],
                ["hosts"] = hosts.Length,
                ["requests"] = hosts.Sum(static h => (long)h["requests"]!),
                ["requestTimeouts"] = hosts.Sum(static h => (long)h["requestTimeouts"]!),
                ["retries"] = hosts.Sum(static h => (long)h["retries"]!),
                ["retryDelaySpread"] = delays.Length == 0 ? "none" : $"{delays[0]}-{delays[^1]} ms (median {delays[delays.Length / 2]} ms)",
                ["drainMs"] = hosts.Max(static h => (long)h["drainMs"]!),
                ["listenOverflows"] = after.ListenOverflows - before.ListenOverflows,
                ["listenDrops"] = after.ListenDrops - before.ListenDrops,
                ["resetsSent"] = after.ResetsSent - before.ResetsSent,
                ["surfacedByKind"] = surfaced,
                ["failuresByNumber"] = numbers,
                ["exceptionShapes"] = shapes.Values.OrderByDescending(static s => (long)s["count"]!).ToList(),
            },
        };
    }

    private static void Sum(SortedDictionary<string, long> totals, JsonObject counts)
    {
        foreach (var (key, value) in counts)
        {
            totals[key] = totals.GetValueOrDefault(key) + (long)value!;
        }
    }

    private static RunFigures With(RunFigures figures, string summary) => new()
    {
        Summary = summary,
        Opens = figures.Opens,
        Failures = figures.Failures,
        FailuresSurfaced = figures.FailuresSurfaced,
        PoolTimeouts = figures.PoolTimeouts,
        TcpConnections = figures.TcpConnections,
        ElapsedMs = figures.ElapsedMs,
        Details = figures.Details,
    };

    private static RunFigures Skipped(string reason) => new() { Summary = "skipped: " + reason, Skipped = reason, TcpConnections = 0 };

    private static string Kinds(RunFigures figures) => Kinds(figures.Failures);

    private static string Kinds(IDictionary<string, long> failures) => failures.Count == 0
        ? "none"
        : string.Join(", ", failures.Select(static f => $"{f.Key} {f.Value:N0}"));

    private static string Verdict(RunFigures rawUnpooled, RunFigures rawPooled, RunFigures safeSql, RunFigures downRaw, RunFigures downSafeSql, RunFigures lunchRaw)
    {
        var downKinds = downRaw.Failures.Keys.Concat(downSafeSql.Failures.Keys).Distinct().ToArray();
        var surfaced = (SortedDictionary<string, long>)safeSql.Details["surfacedByKind"]!;
        var safeSqlPart = safeSql.FailuresSurfaced == 0
            ? $"SafeSql served every request, retrying {safeSql.Detail<long>("retries"):N0} failed attempts with jitter"
            : $"SafeSql failed {safeSql.FailuresSurfaced:N0} ({Kinds(surfaced)}), after retrying {safeSql.Detail<long>("retries"):N0} failed attempts with jitter"
                + (surfaced.Keys.All(static k => k == nameof(SqlFailureKind.PoolTimeout))
                    ? ": opens queued behind SqlClient's one-at-a-time pool creation while SYNs were dropped, which SafeSql does not retry"
                    : string.Empty);
        return $"After the restart raw SqlClient failed {rawUnpooled.FailuresSurfaced:N0} of {rawUnpooled.Detail<long>("requests"):N0} requests with Pooling=false "
            + $"and {rawPooled.FailuresSurfaced:N0} pooled (the overflow reaches pooled clients too); {safeSqlPart}. "
            + $"With the server down every failed attempt was {string.Join(" or ", downKinds)}. The lunch burst over {LunchHosts} hosts left at most "
            + $"{lunchRaw.Detail<long>("maxTimeWaitPerHost"):N0} ports per host in TIME_WAIT: no host ran out.";
    }
}

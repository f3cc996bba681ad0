using System.Globalization;
using System.Text.Json;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

using SafeSql.Demo.Reporting;
using SafeSql.Demo.Running;
using SafeSql.Diagnostics;
using SafeSql.Testing.Network;

namespace SafeSql.Demo.Scenarios;

/// <summary>
/// Scenario 2, the lunch-time burst: 1,000 users fetch 4 records each, 100 at a time. With <c>Pooling=false</c> every record is
/// a new TCP connection whose client port then waits in TIME_WAIT (60 s on Linux): the ephemeral ports run out.
/// </summary>
/// <remarks>
/// Run as root on Linux, each side runs in its own private network namespace (<c>unshare -n</c>) whose ephemeral port range is
/// narrowed to the 1024-5000 of older Windows (3,977 ports) and whose <c>tcp_tw_reuse</c> is 0 (Linux reuses TIME_WAIT ports
/// on loopback only; towards a remote server it does not): the demo re-runs itself there with the hidden command
/// <see cref="NamespaceCommand"/>, which starts its own loopback server and prints its figures as JSON. Elsewhere both sides
/// run on this machine, and the raw side shows the real TIME_WAIT count and port range instead.
/// </remarks>
internal static class LunchBurst
{
    public const string Id = "lunch-burst";

    /// <summary>The hidden command that runs one side inside the private network namespace: <c>__lunch-burst raw|safesql</c>.</summary>
    public const string NamespaceCommand = "__lunch-burst";

    private const int Users = 1_000;
    private const int RecordsPerUser = 4;
    private const int ConcurrentUsers = 100;
    private const int MaxAttemptsPerRecord = 3; // a user reloads a failed page, twice at most
    private const int MaxPoolSize = 50;
    private const string RawSettings = "Pooling=false; Connect Timeout=5"; // bounds an open stuck on exhausted ports; room for a TLS login on a loaded machine
    private const string SafeSqlSettings = "Max Pool Size=50";
    private const int NamespacePortRangeStart = 1024;
    private const int NamespacePortRangeEnd = 5000;
    private const int NamespaceServerPort = 6000; // outside the narrowed range

    public static async Task<ScenarioResult> RunAsync(DemoOptions options)
    {
        var inNamespace = options.ConnectionString is null && PrivateNetworkNamespace.IsSupported;
        var raw = options.ConnectionString is not null
            ? RunFigures.SkippedRun($"it would open {Users * RecordsPerUser:N0} unpooled connections to a real server")
            : inNamespace ? await RunInNamespaceAsync("raw") : await RunSideAsync("raw", options);
        var safeSql = inNamespace ? await RunInNamespaceAsync("safesql") : await RunSideAsync("safesql", options);

        return new ScenarioResult
        {
            Scenario = Id,
            Number = 2,
            Title = "The lunch-time burst: 1,000 users x 4 records with Pooling=false",
            Setup = $"{Users:N0} users fetch {RecordsPerUser} records each, {ConcurrentUsers} at a time, reloading a failed record up to {MaxAttemptsPerRecord - 1} times. Raw: {RawSettings} (SqlClient retries a failed "
                + $"connect until Connect Timeout, 15 s by default). SafeSql: the same string is refused at startup; the pooled run uses {SafeSqlSettings}. "
                + (options.ConnectionString is not null ? "Against a real server only the SafeSql side runs."
                    : inNamespace
                    ? $"Each side runs in its own network namespace: ephemeral ports {NamespacePortRangeStart}-{NamespacePortRangeEnd} "
                        + $"({NamespacePortRangeEnd - NamespacePortRangeStart + 1:N0}, as older Windows), tcp_tw_reuse=0 (as towards a remote server)."
                    : $"Both sides run on this machine's own network settings (no private network namespace: {PrivateNetworkNamespace.UnsupportedReason})."),
            Raw = raw,
            SafeSql = safeSql,
            Verdict = Verdict(raw, safeSql),
        };
    }

    /// <summary>The hidden command, inside the namespace: run one side against a loopback server started here, print JSON.</summary>
    public static async Task<int> RunNamespaceCommandAsync(string side)
    {
        var figures = await RunSideAsync(side, new DemoOptions(), NamespaceServerPort);
        Console.WriteLine(JsonSerializer.Serialize(figures, DemoJson.Options));
        await Console.Out.FlushAsync();

        // Opens still waiting on exhausted ports would hold the process for Connect Timeout each: leave them.
        Environment.Exit(0);
        return 0;
    }

    // 2.1 Each side against its own server: the loopback server (port 0: any) or the real one.
    private static async Task<RunFigures> RunSideAsync(string side, DemoOptions options, int port = 0)
    {
        await using var server = await DemoServer.StartAsync(options.ConnectionString, port);
        return side == "raw" ? await RunRawAsync(server) : await RunSafeSqlAsync(server);
    }

    // 2.2 Raw SqlClient with Pooling=false: every record is a new TCP connection and login.
    private static async Task<RunFigures> RunRawAsync(DemoServer server)
    {
        var connectionString = server.ConnectionString("SafeSql.Demo lunch-burst raw", RawSettings);
        var recorder = new RunRecorder(server);
        SqlFailure? exhaustion = null;
        var served = 0;

        await BurstAsync(async (user, cancellationToken) =>
        {
            for (var record = 1; record <= RecordsPerUser; record++)
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await using var connection = new SqlConnection(connectionString);
                        await connection.OpenAsync(cancellationToken);
                        recorder.Opened();
                        await ReadRecordAsync(connection, user, record, cancellationToken);
                        Interlocked.Increment(ref served);
                        break;
                    }
                    catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                    {
                        var failure = recorder.Failed(ex);
                        if (failure.Kind == SqlFailureKind.SocketExhaustion)
                        {
                            Interlocked.CompareExchange(ref exhaustion, failure, null);
                            return true; // the ports are gone: stop the burst
                        }

                        if (attempt == MaxAttemptsPerRecord)
                        {
                            return false; // this user gives up
                        }
                    }
                }
            }

            return false;
        });

        var tcp = SafeSqlTcpProbe.Capture(server.Loopback?.EndPoint);
        var details = new Dictionary<string, object?>
        {
            ["users"] = Users,
            ["recordsPerUser"] = RecordsPerUser,
            ["recordsServed"] = served,
            ["concurrentUsers"] = ConcurrentUsers,
            ["ephemeralPortRange"] = $"{tcp.EphemeralPortRangeStart}-{tcp.EphemeralPortRangeEnd}",
            ["ephemeralPorts"] = tcp.EphemeralPortCount,
            ["tcpTimeWaitReuse"] = tcp.TcpTimeWaitReuse,
            ["timeWaitTowardsServer"] = tcp.TimeWaitTowardsEndPoint,
        };
        if (exhaustion is not null)
        {
            details["exhaustionEvidence"] = exhaustion.TcpSnapshot?.ToString();
            return recorder.Finish(
                $"Ports ran out after {served:N0} records: the next open failed with SocketExhaustion ({exhaustion.TcpSnapshot}). "
                    + $"The other {Users * RecordsPerUser - served:N0} records would fail the same way until TIME_WAIT ends (60 s): the demo stopped the burst there.",
                details);
        }

        var burstsToExhaust = (int)Math.Ceiling(tcp.EphemeralPortCount / (double)Math.Max(1, recorder.Opens));
        return recorder.Finish(
            $"{served:N0} records, {recorder.Opens:N0} new TCP connections and logins. {tcp.TimeWaitTowardsEndPoint:N0} local ports now wait in TIME_WAIT towards the server "
                + $"(of {tcp.EphemeralPortCount:N0} in {tcp.EphemeralPortRangeStart}-{tcp.EphemeralPortRangeEnd}). tcp_tw_reuse={tcp.TcpTimeWaitReuse?.ToString(CultureInfo.InvariantCulture) ?? "?"} "
                + $"reuses them on loopback only: towards a remote server, {burstsToExhaust} such bursts within 60 s exhaust the range.",
            details);
    }

    // 2.3 SafeSql: the same string is refused at startup; the pooled burst makes at most Max Pool Size TCP connections.
    private static async Task<RunFigures> RunSafeSqlAsync(DemoServer server)
    {
        var recorder = new RunRecorder(server);
        string refusal;
        try
        {
            await using var refused = await SafeSqlApp.StartAsync(server.ConnectionString("SafeSql.Demo lunch-burst", RawSettings), recorder);
            refusal = "(not refused)";
        }
        catch (OptionsValidationException ex)
        {
            refusal = ex.Message; // "SafeSqlOptions.ConnectionString refused. SAFESQL004: Pooling=false turns connection pooling off. ..."
        }

        await using var app = await SafeSqlApp.StartAsync(server.ConnectionString("SafeSql.Demo lunch-burst", SafeSqlSettings), recorder);
        var served = 0;
        await BurstAsync(async (user, cancellationToken) =>
        {
            await using var request = app.Services.CreateAsyncScope(); // each user is a request
            var factory = request.ServiceProvider.GetRequiredService<ISqlConnectionFactory>();
            for (var record = 1; record <= RecordsPerUser; record++)
            {
                SqlConnection connection;
                try
                {
                    connection = await factory.OpenConnectionAsync(cancellationToken);
                }
                catch (Exception)
                {
                    recorder.Surfaced(); // SafeSql's meter has classified it
                    return false;
                }

                await using (connection)
                {
                    recorder.Opened();
                    try
                    {
                        await ReadRecordAsync(connection, user, record, cancellationToken);
                        Interlocked.Increment(ref served);
                    }
                    catch (Exception ex)
                    {
                        recorder.Failed(ex);
                        return false;
                    }
                }
            }

            return false;
        });

        var ruleId = RuleIdOf(refusal);
        return recorder.Finish(
            $"Refused Pooling=false at startup ({ruleId}: \"{FirstSentenceAfter(refusal, ruleId)}\"). The pooled run served {served:N0} records "
                + $"with {recorder.Opens:N0} opens from the pool.",
            new()
            {
                ["users"] = Users,
                ["recordsPerUser"] = RecordsPerUser,
                ["recordsServed"] = served,
                ["concurrentUsers"] = ConcurrentUsers,
                ["maxPoolSize"] = MaxPoolSize,
                ["refusedAtStartup"] = ruleId,
            });
    }

    // 2.4 The burst: 1,000 users, 100 at a time. A user returns true to stop the whole burst.
    private static async Task BurstAsync(Func<int, CancellationToken, Task<bool>> user)
    {
        using var stop = new CancellationTokenSource();
        var stopped = new TaskCompletionSource();
        var next = 0;
        var lanes = Enumerable.Range(0, ConcurrentUsers).Select(_ => Task.Run(async () =>
        {
            int id;
            while (!stop.IsCancellationRequested && (id = Interlocked.Increment(ref next)) <= Users)
            {
                if (await user(id, stop.Token))
                {
                    stopped.TrySetResult();
                    await stop.CancelAsync();
                }
            }
        }));

        // Users stuck in an open on exhausted ports are left behind (the hidden command exits without them).
        await Task.WhenAny(Task.WhenAll(lanes), stopped.Task);
    }

    private static async Task ReadRecordAsync(SqlConnection connection, int user, int record, CancellationToken cancellationToken)
    {
        await using var command = new SqlCommand("SELECT @id AS Id, 'Lunch order' AS Name, 12.5 AS Total", connection);
        command.Parameters.AddWithValue("@id", (user * 10) + record);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
        }
    }

    // 2.5 Re-run this demo inside a private network namespace for one side, and read its JSON back.
    private static async Task<RunFigures> RunInNamespaceAsync(string side)
    {
        var self = Environment.ProcessPath ?? "dotnet";
        string[] arguments = Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? [typeof(LunchBurst).Assembly.Location, NamespaceCommand, side]
            : [NamespaceCommand, side];
        var result = await PrivateNetworkNamespace.RunAsync(self, arguments, new PrivateNetworkNamespaceOptions
        {
            EphemeralPortRangeStart = NamespacePortRangeStart,
            EphemeralPortRangeEnd = NamespacePortRangeEnd,
            TcpTimeWaitReuse = 0,
            Timeout = TimeSpan.FromSeconds(120), // a few seconds alone; generous for a 2-core machine under other builds
        });
        var figures = result.ExitCode == 0 ? JsonSerializer.Deserialize<RunFigures>(result.StandardOutput, DemoJson.Options) : null;
        return figures ?? throw new InvalidOperationException(
            $"The {side} side of the lunch-time burst failed in its network namespace (exit code {result.ExitCode}, timed out: {result.TimedOut}): {result.StandardError.Trim()}");
    }

    private static string Verdict(RunFigures raw, RunFigures safeSql)
    {
        var rawPart = raw.Skipped is not null
            ? "Raw run skipped against a real server"
            : raw.Failures.ContainsKey(nameof(SqlFailureKind.SocketExhaustion))
                ? $"Pooling=false ran out of ports after {raw.TcpConnections:N0} TCP connections (SocketExhaustion)"
                : $"Pooling=false made {raw.TcpConnections:N0} TCP connections and left {raw.Detail<long>("timeWaitTowardsServer"):N0} ports in TIME_WAIT";
        return $"{rawPart}; SafeSql refused that string at startup and served all {safeSql.Detail<long>("recordsServed"):N0} records "
            + $"with {safeSql.TcpConnections?.ToString("N0", CultureInfo.InvariantCulture) ?? "at most Max Pool Size"} TCP connections (Max Pool Size={MaxPoolSize}).";
    }

    private static string RuleIdOf(string refusal)
    {
        var start = refusal.IndexOf("SAFESQL", StringComparison.Ordinal);
        return start < 0 ? "(no rule)" : refusal.Substring(start, "SAFESQL000".Length);
    }

    private static string FirstSentenceAfter(string text, string marker)
    {
        var start = text.IndexOf(marker + ": ", StringComparison.Ordinal);
        var sentence = start < 0 ? text : text[(start + marker.Length + 2)..];
        var end = sentence.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? sentence : sentence[..(end + 1)];
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

using SafeSql.Farm;
using SafeSql.Testing.Network;

using Xunit.Abstractions;

namespace SafeSql.Tests.Farm;

/// <summary>
/// The web farm (SafeSql.Testing's <see cref="WebFarm"/>): network namespaces joined by a bridge, with the farm program
/// (tests/SafeSql.WebFarm.Client) on each host and the real SqlClient against a listen backlog that overflows. Needs Linux and
/// root (CI runs as root); skipped with the reason otherwise. The measured scenario is the demo's scenario 5 (DemoJsonTests).
/// </summary>
public sealed class WebFarmTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task CreateAsync_TwoClientHosts_AppliesEachHostsSettingsAndDisposeLeavesNothingBehind()
    {
        Skip.IfNot(WebFarm.IsSupported, WebFarm.UnsupportedReason);

        // Arrange
        var hostRange = await File.ReadAllTextAsync("/proc/sys/net/ipv4/ip_local_port_range");
        var hostLinks = await RootLinksAsync();
        var farm = await WebFarm.CreateAsync(new WebFarmOptions
        {
            ClientHosts = 2,
            EphemeralPortRangeStart = 20000,
            EphemeralPortRangeEnd = 20099,
            ServerSomaxconn = 64,
            ServerAbortOnOverflow = true,
            ServerSynCookies = 0,
        });
        WebFarmProcess? sleeper = null;
        string[] serverLines;
        string[] clientLines;
        string ping;
        try
        {
            // Act: read each host's settings from inside it, reach the server host from a client host, leave a process running.
            serverLines = await RunAsync(farm, farm.Server, "cat /proc/sys/net/core/somaxconn /proc/sys/net/ipv4/tcp_abort_on_overflow /proc/sys/net/ipv4/tcp_syncookies; ip -o -4 addr show dev farm0");
            clientLines = await RunAsync(farm, farm.Clients[1], "cat /proc/sys/net/ipv4/ip_local_port_range /proc/sys/net/ipv4/tcp_tw_reuse; ip -o -4 addr show dev eth0");
            ping = string.Join(' ', await RunAsync(farm, farm.Clients[0], $"(exec 3<>/dev/tcp/{farm.Server.Address}/9) 2>/dev/null && echo connected || echo refused"));
            sleeper = farm.StartProcess(farm.Clients[0], "/bin/sleep", ["60"]);
        }
        finally
        {
            await farm.DisposeAsync();
        }

        // Assert: the settings are the farm's, inside its namespaces only.
        Assert.Equal(["64", "1", "0"], serverLines[..3]);
        Assert.Contains("inet 10.77.0.1/24", serverLines[3], StringComparison.Ordinal);
        Assert.Equal(["20000\t20099", "0"], clientLines[..2]);
        Assert.Contains("inet 10.77.0.3/24", clientLines[2], StringComparison.Ordinal);
        Assert.Equal(hostRange, await File.ReadAllTextAsync("/proc/sys/net/ipv4/ip_local_port_range"));
        Assert.Equal("refused", ping.Split(' ')[^1]); // nothing listens on port 9: the bridge carried the SYN and the RST back

        // Assert: nothing is left behind: no namespace, no process, no link in the machine's own namespace.
        Assert.DoesNotContain(WebFarm.FindLeftovers(), farm.Namespaces.Contains);
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(sleeper.Id));
        Assert.Equal(hostLinks, await RootLinksAsync());
        Assert.Throws<ObjectDisposedException>(() => farm.StartProcess(farm.Server, "/bin/true", []));
    }

    [SkippableFact]
    public async Task Storm_RawSqlClientIntoBacklogOfEightThatResetsOnOverflow_CallersFailAndTheServerHostCountsOverflowsAndResets()
    {
        Skip.IfNot(WebFarm.IsSupported, WebFarm.UnsupportedReason);

        // Arrange: 4 client hosts, the server host resets a handshake that meets a full accept queue.
        await using var driver = await FarmDriver.StartAsync(
            FarmClient.AssemblyPath,
            [],
            new WebFarmOptions { ClientHosts = 4, ServerAbortOnOverflow = true, ServerSynCookies = 0 },
            s_timeout);
        await driver.ServerAsync("start 8 20", s_timeout);
        var before = await driver.Farm.ReadListenCountersAsync();

        // Act: 4 hosts x 50 unpooled opens at once (Open() on thread-pool threads), Connect Timeout 3 s.
        var storm = await driver.ClientsAsync("run mode=raw-unpooled requests=50 concurrency=50 connectTimeout=3 requestTimeoutMs=15000 sync=1", s_timeout);
        var after = await driver.Farm.ReadListenCountersAsync();

        // Act: the server down: every connect refused.
        await driver.ServerAsync("stop", s_timeout);
        var down = await driver.ClientsAsync("run mode=raw-unpooled requests=2 concurrency=2 connectTimeout=2 requestTimeoutMs=15000 sync=1", s_timeout);
        Report("storm", storm);
        Report("down", down);

        // Assert: the accept queue overflowed, the server host sent resets, and callers failed with SqlClient's errors.
        Assert.True(after.ListenOverflows > before.ListenOverflows, $"No overflow: {before} -> {after}");
        Assert.True(after.ResetsSent > before.ResetsSent, $"No reset sent: {before} -> {after}");
        Assert.True(storm.Sum(static h => (long)h["failed"]!) > 0, "No request failed.");
        Assert.True(storm.Sum(static h => (long)h["succeeded"]!) > 0, "No request was served: the server was not reachable at all.");
        // Classified after the fact as SafeSql would (ClassifyAsync, its shared diagnostic connect): the server is seen
        // accepting, so most are ListenBacklogOverflow; never ConnectionRefused.
        var stormKinds = Kinds(storm);
        Assert.All(stormKinds.Keys, kind => Assert.Contains(kind, new[] { nameof(SqlFailureKind.ListenBacklogOverflow), nameof(SqlFailureKind.ConnectTimeout), nameof(SqlFailureKind.ConnectionBroken) }));
        Assert.True(stormKinds.GetValueOrDefault(nameof(SqlFailureKind.ListenBacklogOverflow)) > 0, $"No failure classified as ListenBacklogOverflow: {string.Join(", ", stormKinds)}");
        Assert.All(Shapes(storm), shape =>
        {
            Assert.Equal("Microsoft.Data.SqlClient.SqlException", (string)shape["type"]!);
            Assert.Contains((int)shape["number"]!, new[] { 258, -2, 0 });
            Assert.DoesNotContain("Password", (string)shape["message"]!, StringComparison.OrdinalIgnoreCase);
        });

        // Assert: with nothing listening every attempt is ConnectionRefused (SqlException 0, the errno lost as "Success").
        Assert.Equal(new Dictionary<string, long> { [nameof(SqlFailureKind.ConnectionRefused)] = 8 }, Kinds(down));
        var refused = Assert.Single(Shapes(down));
        Assert.Equal(0, (int)refused["number"]!);
        Assert.Equal("System.Net.Sockets.SocketException", (string)refused["innerType"]!);
    }

    private static async Task<string[]> RunAsync(WebFarm farm, WebFarmHost host, string script)
    {
        await using var process = farm.StartProcess(host, "/bin/bash", ["-c", script]);
        var lines = new List<string>();
        using var deadline = new CancellationTokenSource(s_timeout);
        while (await process.ReadLineAsync(deadline.Token) is { } line)
        {
            lines.Add(line.Trim());
        }

        return [.. lines];
    }

    private static async Task<string> RootLinksAsync()
    {
        using var process = Process.Start(new ProcessStartInfo("ip", ["-o", "link", "show"]) { RedirectStandardOutput = true })!;
        var text = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        // Names only: counters and states of the machine's own links change on their own.
        return string.Join('\n', text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(static l => l.Split(':')[1].Trim()).Order(StringComparer.Ordinal));
    }

    private static Dictionary<string, long> Kinds(IEnumerable<JsonObject> hosts)
    {
        var kinds = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (kind, count) in hosts.SelectMany(static h => h["attemptFailuresByKind"]!.AsObject()))
        {
            kinds[kind] = kinds.GetValueOrDefault(kind) + (long)count!;
        }

        return kinds;
    }

    private static List<JsonObject> Shapes(IEnumerable<JsonObject> hosts) =>
        [.. hosts.SelectMany(static h => h["shapes"]!.AsArray().Select(static s => s!.AsObject()))
            .GroupBy(static s => $"{s["kind"]}|{s["number"]}|{s["innerType"]}|{s["type"]}")
            .Select(static g => g.First())];

    private void Report(string run, JsonObject[] hosts)
    {
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{run} (SqlClient {hosts[0]["sqlClient"]}): {hosts.Sum(static h => (long)h["succeeded"]!)} served, {hosts.Sum(static h => (long)h["failed"]!)} failed"));
        foreach (var shape in Shapes(hosts))
        {
            output.WriteLine($"  {shape["kind"]} {shape["number"]} class {shape["class"]} inner {shape["innerType"]} ({shape["innerSocketError"]}): {shape["message"]}");
        }
    }
}

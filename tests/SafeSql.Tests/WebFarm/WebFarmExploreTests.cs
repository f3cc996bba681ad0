using System.Diagnostics;
using System.Text.Json.Nodes;

using SafeSql.Testing.Network;
using SafeSql.Farm;

using Xunit.Abstractions;

namespace SafeSql.Tests.Farm;

public sealed class WebFarmExploreTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Explore()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("FARM_EXPLORE") == "1", "exploration");
        var clock = Stopwatch.StartNew();
        var timeout = TimeSpan.FromSeconds(60);
        await using var driver = await FarmDriver.StartAsync(FarmClient.AssemblyPath, [], new WebFarmOptions { ClientHosts = 8, ServerSynCookies = int.Parse(Environment.GetEnvironmentVariable("FARM_COOKIES") ?? "1", System.Globalization.CultureInfo.InvariantCulture), ServerAbortOnOverflow = Environment.GetEnvironmentVariable("FARM_ABORT") != "0" }, timeout);
        output.WriteLine($"started {clock.ElapsedMilliseconds} ms");
        var backlog = Environment.GetEnvironmentVariable("FARM_BACKLOG") ?? "8";
        var delay = Environment.GetEnvironmentVariable("FARM_DELAY") ?? "20";
        var run = Environment.GetEnvironmentVariable("FARM_RUN") ?? "connectTimeout=3 requestTimeoutMs=10000";
        output.WriteLine((await driver.ServerAsync($"start {backlog} {delay}", timeout)).ToJsonString());
        foreach (var mode in (Environment.GetEnvironmentVariable("FARM_MODES") ?? "raw-unpooled raw-pooled safesql").Split(' '))
        {
            if (mode != "raw-unpooled")
            {
                output.WriteLine((await driver.ClientsAsync($"warm mode={mode} count=5 {run}", timeout))[0].ToJsonString());
            }

            output.WriteLine((await driver.ServerAsync($"start {backlog} {delay}", timeout)).ToJsonString());
            var before = await driver.Farm.ReadListenCountersAsync();
            var t = Stopwatch.StartNew();
            var results = await driver.ClientsAsync($"run mode={mode} requests=50 concurrency=50 {run} {(mode == "raw-unpooled" ? "sync=1" : "")} {Environment.GetEnvironmentVariable("FARM_EXTRA_" + mode.Replace("-", "_"))}", timeout);
            var after = await driver.Farm.ReadListenCountersAsync();
            output.WriteLine($"== {mode}: {t.ElapsedMilliseconds} ms, overflows {after.ListenOverflows - before.ListenOverflows}, drops {after.ListenDrops - before.ListenDrops}, failed {results.Sum(r => (long)r["failed"]!)}");
            foreach (var r in results)
            {
                r.Remove("retryDelaysMs");
                output.WriteLine(r.ToJsonString());
            }
        }

        output.WriteLine($"total {clock.ElapsedMilliseconds} ms");
    }
}

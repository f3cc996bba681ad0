using System.Text.Json.Nodes;

namespace SafeSql.Samples.Tests.Demo;

/// <summary>
/// One run of <c>dotnet SafeSql.Demo.dll --json --scenario outage --outage-seconds 20</c>, shared by the tests of the outage
/// scenario. 20 s: longer than SqlClient's default Connect Timeout (15 s), within which it retries a refused connect itself,
/// so raw callers meet the outage as errors, not only as waits; the run takes about 40 s (the four sides run at once).
/// </summary>
public sealed class DemoOutageRun : IAsyncLifetime
{
    public const int OutageSeconds = 20;

    private DemoRun? _run;
    private JsonObject? _scenario;

    internal DemoRun Run => _run ?? throw new InvalidOperationException("The demo has not run.");

    internal JsonObject Scenario => _scenario
        ?? throw new Xunit.Sdk.XunitException($"The outage scenario is missing. Exit code {Run.ExitCode}. Standard error: {Run.StandardError}");

    public async Task InitializeAsync()
    {
        // Generous: about 40 s alone; CI runs other test assemblies beside it.
        _run = await DemoProcess.RunAsync(TimeSpan.FromMinutes(3), "--json", "--scenario", "outage", "--outage-seconds", $"{OutageSeconds}");
        _scenario = _run.ExitCode == 0 ? JsonNode.Parse(_run.StandardOutput)!.AsArray().SingleOrDefault()?.AsObject() : null;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>Gets the figures of the run <paramref name="id"/> (raw, ef-core, safesql, ef-core-safesql).</summary>
    internal JsonObject Side(string id) =>
        Scenario["runs"]!.AsArray().Select(static r => r!.AsObject()).Single(r => (string?)r["id"] == id)["figures"]!.AsObject();
}

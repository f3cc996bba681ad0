using System.Text.Json.Nodes;

namespace SafeSql.Samples.Tests.Demo;

/// <summary>One run of <c>dotnet SafeSql.Demo.dll --json</c>, shared by the tests that check its figures.</summary>
public sealed class DemoJsonRun : IAsyncLifetime
{
    private DemoRun? _run;
    private JsonArray? _scenarios;

    internal DemoRun Run => _run ?? throw new InvalidOperationException("The demo has not run.");

    internal JsonArray Scenarios => _scenarios ?? throw new InvalidOperationException("The demo has not run.");

    public async Task InitializeAsync()
    {
        // Generous: the demo takes about 45 s alone (25 s of it the web farm); CI runs other test assemblies beside it.
        _run = await DemoProcess.RunAsync(TimeSpan.FromMinutes(3), "--json");
        _scenarios = _run.ExitCode == 0 ? JsonNode.Parse(_run.StandardOutput)!.AsArray() : [];
    }

    public Task DisposeAsync() => Task.CompletedTask;

    internal JsonObject Scenario(string id) =>
        Scenarios.Select(static s => s!.AsObject()).SingleOrDefault(s => (string?)s["scenario"] == id)
        ?? throw new Xunit.Sdk.XunitException($"Scenario '{id}' is missing. Exit code {Run.ExitCode}. Standard error: {Run.StandardError}");
}

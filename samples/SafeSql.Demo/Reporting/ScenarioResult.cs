using System.Text.Json.Serialization;

namespace SafeSql.Demo.Reporting;

/// <summary>The outcome of one scenario: the same failure played with raw SqlClient, then with SafeSql.</summary>
internal sealed class ScenarioResult
{
    /// <summary>Gets the stable id used by <c>--json</c> and <c>--scenario</c>: leak-loop, lunch-burst, hacks, restart.</summary>
    public required string Scenario { get; init; }

    /// <summary>Gets the scenario's number in the demo (1-4).</summary>
    public required int Number { get; init; }

    /// <summary>Gets the scenario's title.</summary>
    public required string Title { get; init; }

    /// <summary>Gets what the scenario does and with which settings, in one or two sentences.</summary>
    public required string Setup { get; init; }

    /// <summary>Gets the raw SqlClient run.</summary>
    public required RunFigures Raw { get; init; }

    /// <summary>Gets the SafeSql run.</summary>
    [JsonPropertyName("safesql")]
    public required RunFigures SafeSql { get; init; }

    /// <summary>Gets the lines printed under the table: the leak report, the refusals, the timeline of faults.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Gets the one-line verdict.</summary>
    public required string Verdict { get; init; }
}

using System.Text.Json.Serialization;

namespace SafeSql.Demo.Reporting;

/// <summary>The outcome of one scenario: the same failure played with raw SqlClient, then with SafeSql.</summary>
internal sealed class ScenarioResult
{
    /// <summary>Gets the stable id used by <c>--json</c> and <c>--scenario</c>: leak-loop, lunch-burst, hacks, restart, web-farm,
    /// outage.</summary>
    public required string Scenario { get; init; }

    /// <summary>Gets the scenario's number in the demo (1-6).</summary>
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

    /// <summary>Gets every run of a scenario that has more than two, in table order (<see cref="Raw"/> and <see cref="SafeSql"/>
    /// among them); <see langword="null"/> when the two are all.</summary>
    public IReadOnlyList<LabeledRun>? Runs { get; init; }

    /// <summary>Gets a second table printed under the first, its first row the headers (the console's view of figures that
    /// <c>--json</c> gives in each run's details); <see langword="null"/>: none.</summary>
    [JsonIgnore]
    public IReadOnlyList<string[]>? SecondTable { get; init; }

    /// <summary>Gets the lines printed under the table: the leak report, the refusals, the timeline of faults.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Gets the one-line verdict.</summary>
    public required string Verdict { get; init; }
}

/// <summary>One row of a scenario with more than two runs.</summary>
/// <param name="Id">The run's stable id in <c>--json</c>, for example <c>raw-pooled</c>.</param>
/// <param name="Label">The row's label in the table.</param>
/// <param name="Figures">The run's figures.</param>
internal sealed record LabeledRun(string Id, string Label, RunFigures Figures);

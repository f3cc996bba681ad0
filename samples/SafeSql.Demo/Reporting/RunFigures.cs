using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SafeSql.Demo.Reporting;

/// <summary>
/// What one run of a scenario (raw SqlClient or SafeSql) did: the figures of the table and of <c>--json</c>.
/// </summary>
internal sealed class RunFigures
{
    /// <summary>Gets what happened, in one sentence.</summary>
    public required string Summary { get; init; }

    /// <summary>Gets the number of connections opened successfully.</summary>
    public long Opens { get; init; }

    /// <summary>
    /// Gets the failures by <see cref="SqlFailureKind"/> name. Raw: the errors callers got. SafeSql: every failure
    /// SafeSql saw and classified, including the ones its retries absorbed (see <see cref="FailuresSurfaced"/>).
    /// </summary>
    public SortedDictionary<string, long> Failures { get; init; } = [];

    /// <summary>Gets the number of failures that reached the calling code (a failed request).</summary>
    public long FailuresSurfaced { get; init; }

    /// <summary>Gets the number of opens that failed because every pooled connection was leased (the pool timeout).</summary>
    public long PoolTimeouts { get; init; }

    /// <summary>Gets the number of connection leaks reported (SafeSql's leak reports; raw SqlClient reports none).</summary>
    public long LeaksReported { get; init; }

    /// <summary>Gets the TCP connections the server accepted during the run (<see langword="null"/> against a real server).</summary>
    public long? TcpConnections { get; init; }

    /// <summary>Gets the wall-clock time of the run, in milliseconds.</summary>
    public long ElapsedMs { get; init; }

    /// <summary>Gets why the run was skipped (<see langword="null"/> when it ran).</summary>
    public string? Skipped { get; init; }

    /// <summary>Gets figures particular to the scenario (iterations, the leaking line, the port range...).</summary>
    [JsonExtensionData]
    public Dictionary<string, object?> Details { get; init; } = [];

    /// <summary>Gets a figure of <see cref="Details"/> (set in this process, or read back from JSON).</summary>
    public T? Detail<T>(string name) => Details.GetValueOrDefault(name) switch
    {
        null => default,
        JsonElement element => element.Deserialize<T>(),
        var value => (T)Convert.ChangeType(value, typeof(T), CultureInfo.InvariantCulture),
    };

    /// <summary>Creates the figures of a run that did not happen.</summary>
    public static RunFigures SkippedRun(string reason) => new() { Summary = "skipped: " + reason, Skipped = reason };
}

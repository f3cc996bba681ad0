using System.Globalization;
using System.Text.RegularExpressions;

namespace SafeSql.Samples.Tests.Benchmarks;

/// <summary>
/// The benchmark program as CI runs it: <c>--smoke</c> executes every benchmark once in process and reports each class;
/// <c>field-table</c> counts TCP connections per open with and without pooling. Neither asserts a time.
/// </summary>
public sealed partial class BenchmarkSmokeTests
{
    // Named here so that renaming or dropping one fails this test; the other classes (OpenClose*, Classifier*, LoopbackServer*)
    // are checked by the program itself, which compares the classes that ran with every [Benchmark] class it finds by reflection.
    private static readonly string[] s_requiredClasses = ["ThroughputBenchmark", "PoolingOffBenchmark", "PolicyBenchmark"];

    [Fact]
    public async Task Smoke_EveryBenchmarkClass_RunsWithoutError()
    {
        // Arrange
        var timeout = TimeSpan.FromMinutes(3);

        // Act
        var (exitCode, output) = await BenchmarkProgram.RunAsync(["--smoke"], timeout);

        // Assert
        var classes = ClassLine().Matches(output).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["status"].Value, StringComparer.Ordinal);
        var total = TotalLine().Match(output);
        Assert.True(exitCode == 0, $"The smoke run exited with {exitCode}:\n{Tail(output)}");
        Assert.True(total.Success, $"The smoke run printed no 'smoke: N classes, N benchmarks, N failed' line:\n{Tail(output)}");
        Assert.Equal("0", total.Groups["failed"].Value);
        Assert.Equal(int.Parse(total.Groups["classes"].Value, CultureInfo.InvariantCulture), classes.Count);
        Assert.All(classes, c => Assert.Equal("ok", c.Value));
        Assert.Superset(s_requiredClasses.ToHashSet(StringComparer.Ordinal), classes.Keys.ToHashSet(StringComparer.Ordinal));
    }

    [Fact]
    public async Task FieldTable_200Opens_PooledMakesOneTcpConnectionAndUnpooledOnePerOpen()
    {
        // Arrange
        const int Opens = 200;

        // Act
        var (exitCode, output) = await BenchmarkProgram.RunAsync(["field-table", "--opens", Opens.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromMinutes(2));

        // Assert
        Assert.True(exitCode == 0, $"field-table exited with {exitCode}:\n{Tail(output)}");
        Assert.Equal((1, 1), Connections(output, "Raw SqlClient, pooled (default)"));
        Assert.Equal((1, 1), Connections(output, "SafeSql, pooled (SqlConnectionStackCaptureMode.CallSite)"));
        Assert.Equal((Opens, Opens), Connections(output, "Raw SqlClient, Pooling=false"));
    }

    /// <summary>The TCP connections and logins columns of the first table's row <paramref name="run"/>.</summary>
    private static (int TcpConnections, int Logins) Connections(string output, string run)
    {
        var row = output.Split('\n').FirstOrDefault(l => l.StartsWith($"| {run} |", StringComparison.Ordinal));
        Assert.True(row is not null, $"field-table printed no row '{run}':\n{Tail(output)}");
        var cells = row.Split('|', StringSplitOptions.TrimEntries);
        return (int.Parse(cells[2], NumberStyles.AllowThousands, CultureInfo.InvariantCulture), int.Parse(cells[3], NumberStyles.AllowThousands, CultureInfo.InvariantCulture));
    }

    private static string Tail(string output) => output.Length <= 6000 ? output : output[^6000..];

    [GeneratedRegex(@"^smoke: class (?<name>\S+) (?<status>ok|FAILED) ", RegexOptions.Multiline)]
    private static partial Regex ClassLine();

    [GeneratedRegex(@"^smoke: (?<classes>\d+) classes, (?<benchmarks>\d+) benchmarks, (?<failed>\d+) failed", RegexOptions.Multiline)]
    private static partial Regex TotalLine();
}

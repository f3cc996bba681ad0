using System.Text;

namespace SafeSql.Demo.Reporting;

/// <summary>Writes a scenario as a readable block: setup, a table of both runs, what happened, the verdict.</summary>
internal static class ConsoleReport
{
    private const int Width = 120;

    // Pool timeouts are an error kind (PoolTimeout); --json also gives them on their own (poolTimeouts).
    private static readonly string[] s_headers = ["run", "opens", "errors by kind", "failed calls", "leaks reported", "TCP connections", "time"];

    public static void WriteHeader(TextWriter writer, string target)
    {
        writer.WriteLine("SafeSql demo: the connection failures met in production, played for real, raw SqlClient first, then SafeSql.");
        writer.WriteLine($"Server: {target}. Errors are classified with SafeSql's SqlFailureClassifier on both sides.");
        writer.WriteLine();
    }

    public static void Write(TextWriter writer, ScenarioResult result)
    {
        writer.WriteLine($"{result.Number}. {result.Title}");
        WriteWrapped(writer, "   ", result.Setup);
        writer.WriteLine();

        string[][] rows = result.Runs is { } runs
            ? [s_headers, .. runs.Select(static r => Row(r.Label, r.Figures))]
            : [s_headers, Row("raw SqlClient", result.Raw), Row("SafeSql", result.SafeSql)];
        WriteTable(writer, rows, leftAligned: [0, 2]); // text columns (run, errors by kind) align left, figures right
        writer.WriteLine();
        if (result.SecondTable is { } second)
        {
            WriteTable(writer, second, leftAligned: [0]);
            writer.WriteLine();
        }

        if (result.Runs is { } labeled)
        {
            var width = labeled.Max(static r => r.Label.Length) + 5;
            foreach (var run in labeled)
            {
                WriteWrapped(writer, ("   " + run.Label).PadRight(width), run.Figures.Summary);
            }
        }
        else
        {
            WriteWrapped(writer, "   raw SqlClient  ", result.Raw.Summary);
            WriteWrapped(writer, "   SafeSql        ", result.SafeSql.Summary);
        }
        foreach (var note in result.Notes)
        {
            WriteWrapped(writer, "   - ", note);
        }

        WriteWrapped(writer, "   Verdict: ", result.Verdict);
        writer.WriteLine();
    }

    private static void WriteTable(TextWriter writer, IReadOnlyList<string[]> rows, int[] leftAligned)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(column => rows.Max(row => row[column].Length)).ToArray();
        foreach (var row in rows)
        {
            var line = new StringBuilder("   ");
            for (var column = 0; column < row.Length; column++)
            {
                line.Append(leftAligned.Contains(column) ? row[column].PadRight(widths[column]) : row[column].PadLeft(widths[column])).Append("  ");
            }

            writer.WriteLine(line.ToString().TrimEnd());
        }
    }

    private static string[] Row(string run, RunFigures figures) => figures.Skipped is not null
        ? [run, "-", "skipped", "-", "-", "-", "-"]
        :
        [
            run,
            Text.Count(figures.Opens),
            figures.Failures.Count == 0 ? "none" : string.Join(", ", figures.Failures.Select(static f => $"{f.Key} {Text.Count(f.Value)}")),
            Text.Count(figures.FailuresSurfaced),
            Text.Count(figures.LeaksReported),
            figures.TcpConnections is { } tcp ? Text.Count(tcp) : "n/a",
            Text.Seconds(figures.ElapsedMs),
        ];

    /// <summary>Writes <paramref name="text"/> after <paramref name="prefix"/>, wrapped at <see cref="Width"/> with a hanging indent.</summary>
    private static void WriteWrapped(TextWriter writer, string prefix, string text)
    {
        var indent = new string(' ', prefix.Length);
        var line = new StringBuilder(prefix);
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length + 1 + word.Length > Width && line.Length > indent.Length)
            {
                writer.WriteLine(line.ToString().TrimEnd());
                line.Clear().Append(indent);
            }

            line.Append(word).Append(' ');
        }

        writer.WriteLine(line.ToString().TrimEnd());
    }
}

using Spectre.Console;

using SafeSql.Tool.Doctor;

namespace SafeSql.Tool.Output;

/// <summary>
/// The doctor's report as a table (Spectre.Console). Colour only on a terminal: none when NO_COLOR is set (no-color.org) or
/// the output is redirected, where the table is also drawn 160 columns wide (or $COLUMNS) instead of the terminal's width.
/// </summary>
internal static class DoctorConsole
{
    private const int RedirectedWidth = 160;

    public static void Write(DoctorReport report, TextWriter writer, bool redirected)
    {
        var console = Create(writer, redirected);
        console.WriteLine($"safesql doctor: Data Source={report.DataSource ?? "(none)"}, Microsoft.Data.SqlClient {report.SqlClientVersion}");
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn("Area");
        table.AddColumn("Check");
        table.AddColumn("Status");
        table.AddColumn("Finding");
        foreach (var check in report.Checks)
        {
            var finding = Markup.Escape(check.Summary);
            if (check.Status != DoctorStatus.Ok)
            {
                finding += "\n[dim]Why:[/] " + Markup.Escape(check.Why);
                if (check.Fix is { } fix)
                {
                    finding += "\n[bold]Fix:[/] " + Markup.Escape(fix);
                }
            }

            table.AddRow(new Markup(Markup.Escape(check.Area)), new Markup(Markup.Escape(check.Id)), new Markup(StatusMarkup(check.Status)), new Markup(finding));
        }

        console.Write(table);
        var problems = report.Checks.Count(c => c.Status == DoctorStatus.Problem);
        var warnings = report.Checks.Count(c => c.Status == DoctorStatus.Warning);
        console.MarkupLine($"Verdict: {StatusMarkup(report.Status)}: {problems} problem{(problems == 1 ? "" : "s")}, {warnings} warning{(warnings == 1 ? "" : "s")}, {report.Checks.Count - problems - warnings} ok (exit code {report.ExitCode}).");
    }

    private static string StatusMarkup(DoctorStatus status) => status switch
    {
        DoctorStatus.Ok => "[green]ok[/]",
        DoctorStatus.Warning => "[yellow]warning[/]",
        _ => "[red]problem[/]",
    };

    internal static IAnsiConsole Create(TextWriter writer, bool redirected)
    {
        var noColor = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
        var plain = noColor || redirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = plain ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = plain ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        if (redirected)
        {
            console.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns >= 80 ? columns : RedirectedWidth;
        }

        return console;
    }
}

using System.Globalization;

using Spectre.Console;

using SafeSql.Tool.Doctor;

namespace SafeSql.Tool.Output;

/// <summary>
/// <c>doctor --url</c>'s report: per pool, the holders (oldest first, those past the leak threshold marked), the failed opens
/// by kind over the endpoint's window and the recent leaks, in the doctor's table style (<see cref="DoctorConsole"/>).
/// </summary>
internal static class DiagnosticsEndpointConsole
{
    public static void Write(string url, DiagnosticsEndpointRead read, TextWriter writer, bool redirected)
    {
        var console = DoctorConsole.Create(writer, redirected);
        console.WriteLine($"safesql doctor: {url}, SafeSql {read.SafeSqlVersion}, Microsoft.Data.SqlClient {read.SqlClientVersion}");
        foreach (var pool in read.Pools)
        {
            var pending = pool.PendingOpens?.ToString(CultureInfo.InvariantCulture) ?? "n/a";
            var threshold = pool.LeakThresholdSeconds is { } seconds ? seconds.ToString("0.###", CultureInfo.InvariantCulture) + " s" : "off";
            console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"Pool {pool.Name} ({pool.Server}): {pool.Leased} of Max Pool Size {pool.MaxPoolSize} leased, {pending} pending, {pool.PoolTimeouts} pool timeouts, leak threshold {threshold}, health {pool.Health ?? "n/a"}")));

            var holders = new Table().Border(TableBorder.Rounded).Title("Holders, oldest first");
            holders.AddColumn("Call site");
            holders.AddColumn(new TableColumn("Leases").RightAligned());
            holders.AddColumn(new TableColumn("Oldest held").RightAligned());
            holders.AddColumn("Status");
            foreach (var holder in pool.Holders.OrderByDescending(static holder => holder.OldestHeldForSeconds))
            {
                var late = pool.LeakThresholdSeconds is { } limit && holder.OldestHeldForSeconds > limit;
                holders.AddRow(
                    Markup.Escape(holder.CallSite),
                    holder.Leases.ToString(CultureInfo.InvariantCulture),
                    holder.OldestHeldForSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s",
                    late ? "[red]older than the leak threshold[/]" : "[green]ok[/]");
            }

            if (pool.Holders.Count == 0)
            {
                holders.AddRow("[dim]nothing leased[/]", string.Empty, string.Empty, string.Empty);
            }

            console.Write(holders);

            var failures = new Table().Border(TableBorder.Rounded).Title(string.Create(CultureInfo.InvariantCulture, $"Failed opens, last {read.WindowSeconds:0} s"));
            failures.AddColumn("Kind");
            failures.AddColumn(new TableColumn("Count").RightAligned());
            foreach (var (kind, count) in pool.FailuresByKind)
            {
                failures.AddRow(Markup.Escape(kind), count.ToString(CultureInfo.InvariantCulture));
            }

            if (pool.FailuresByKind.Count == 0)
            {
                failures.AddRow("[dim]none[/]", string.Empty);
            }

            console.Write(failures);

            if (pool.RecentLeaks.Count > 0)
            {
                var leaks = new Table().Border(TableBorder.Rounded).Title("Recent leaks, newest first");
                leaks.AddColumn("Detected (UTC)");
                leaks.AddColumn("Kind");
                leaks.AddColumn("Call site");
                leaks.AddColumn(new TableColumn("Held").RightAligned());
                foreach (var leak in pool.RecentLeaks)
                {
                    leaks.AddRow(
                        leak.DetectedAt.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture),
                        Markup.Escape(leak.Kind),
                        Markup.Escape(leak.CallSite),
                        leak.HeldForSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s");
                }

                console.Write(leaks);
            }
        }

        var exhausted = read.Pools.Where(static pool => pool.Exhausted).Select(static pool => pool.Name).ToList();
        var over = read.Pools.Sum(static pool => pool.HoldersOverThreshold);
        var verdict = exhausted.Count > 0 ? $"[red]pool exhausted[/]: {Markup.Escape(string.Join(", ", exhausted))}"
            : over > 0 ? $"[yellow]{over} holder{(over == 1 ? string.Empty : "s")} older than the leak threshold[/]"
            : "[green]ok[/]";
        console.MarkupLine($"Verdict: {verdict} (exit code {read.ExitCode}).");
    }
}

using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace SafeSql.AspNetCore;

/// <summary>
/// Renders a <see cref="DiagnosticsDocument"/> as one self-contained HTML page: inline style, inline SVG charts, no script,
/// no external resource of any kind (the response's Content-Security-Policy forbids them), reloaded by a <c>meta refresh</c>.
/// Built for someone paged at night: per pool, the holders table comes first, oldest lease first.
/// </summary>
internal static class DiagnosticsPage
{
    private const int ChartWidth = 600;
    private const int ChartHeight = 120;

    /// <summary>The response's Content-Security-Policy: nothing may load from anywhere, inline style only.</summary>
    internal const string ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly string[] s_palette = ["#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#1f77b4", "#2ca02c"];

    private const string Style = """
        body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1rem 2rem;color:#1b1b1b;background:#fafafa}
        h1{font-size:1.3rem;margin:0 0 .5rem}h2{font-size:1.15rem;margin:1.5rem 0 .3rem}h3{font-size:1rem;margin:1rem 0 .3rem}
        table{border-collapse:collapse;background:#fff;min-width:40rem}th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
        th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}tr.over td{background:#fde2e1}
        .summary span{display:inline-block;margin-right:1.2rem}.badge{padding:.1rem .5rem;border-radius:.6rem;color:#fff;font-weight:600}
        .ok{background:#2e7d32}.warn{background:#b26a00}.bad{background:#c62828}.muted{color:#666}
        section.pool{border-top:2px solid #ccc;margin-top:1rem}svg{background:#fff;border:1px solid #ddd}pre{white-space:pre-wrap;font-size:12px}
        .legend span{margin-right:1rem}.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
        """;

    internal static string Render(DiagnosticsDocument document, string jsonHref, TimeSpan refreshInterval)
    {
        var html = new StringBuilder(16 * 1024);
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
        html.Append(CultureInfo.InvariantCulture, $"<meta http-equiv=\"refresh\" content=\"{Math.Max(1, (int)refreshInterval.TotalSeconds)}\">");
        html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>SafeSql pool diagnostics</title><style>");
        html.Append(Style).Append("</style></head><body>");
        html.Append("<h1>SafeSql: who holds the pool</h1>");
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"muted\">Generated {Encode(document.GeneratedAt.ToString("u", CultureInfo.InvariantCulture))}; reloads every {(int)refreshInterval.TotalSeconds} s. Charts cover the last {document.WindowSeconds:0} s in {document.BucketSeconds:0.#} s buckets. <a href=\"{Encode(jsonHref)}\">JSON</a></p>");
        if (document.Pools.Count == 0)
        {
            html.Append("<p>No SafeSql data source is registered (<code>AddSafeSql</code>).</p>");
        }

        foreach (var pool in document.Pools)
        {
            RenderPool(html, pool);
        }

        html.Append(CultureInfo.InvariantCulture, $"<footer class=\"muted\"><p>SafeSql {Encode(document.SafeSqlVersion)} · Microsoft.Data.SqlClient {Encode(document.SqlClientVersion)} · schema {document.SchemaVersion}</p></footer>");
        html.Append("</body></html>");
        return html.ToString();
    }

    private static void RenderPool(StringBuilder html, PoolDocument pool)
    {
        html.Append(CultureInfo.InvariantCulture, $"<section class=\"pool\" data-pool=\"{Encode(pool.Name)}\"><h2>Pool {Encode(pool.Name)} <span class=\"muted\">{Encode(pool.Server)}{(pool.Database is null ? string.Empty : " / " + Encode(pool.Database))}</span> {StatusBadge(pool)}</h2>");
        html.Append("<p class=\"summary\">");
        html.Append(CultureInfo.InvariantCulture, $"<span>Leased <b class=\"leased\">{pool.Leased}</b> of Max Pool Size {pool.MaxPoolSize}{(pool.Pooling ? string.Empty : " (Pooling=false)")}</span>");
        html.Append(CultureInfo.InvariantCulture, $"<span>Pending opens <b>{(pool.PendingOpens is { } pending ? pending.ToString(CultureInfo.InvariantCulture) : "n/a")}</b></span>");
        html.Append(CultureInfo.InvariantCulture, $"<span>Leaks since start <b>{pool.LeaksDetected}</b></span><span>Pool timeouts <b>{pool.PoolTimeouts}</b></span>");
        html.Append(CultureInfo.InvariantCulture, $"<span>Leak threshold <b>{(pool.LeakDetectionThresholdSeconds is { } threshold ? threshold.ToString("0.###", CultureInfo.InvariantCulture) + " s" : "off")}</b></span></p>");
        if (pool.Health is { } health)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p class=\"health\">Health ({Encode(health.Check)}, {Encode(health.CheckedAt.ToString("HH:mm:ss", CultureInfo.InvariantCulture))} UTC): <b>{Encode(health.Status)}</b> {Encode(health.Description ?? string.Empty)}</p>");
        }

        RenderHolders(html, pool);
        html.Append("<h3>Leased vs Max Pool Size</h3>");
        RenderLeasedChart(html, pool);
        html.Append("<h3>Failed opens by kind</h3>");
        RenderFailuresChart(html, pool);
        RenderLeaks(html, pool);
        RenderTcp(html, pool.Tcp);
        html.Append("</section>");
    }

    private static string StatusBadge(PoolDocument pool)
    {
        if (pool.Exhausted)
        {
            return "<span class=\"badge bad status\">Exhausted</span>";
        }

        return pool.Health?.Status switch
        {
            "Unhealthy" => "<span class=\"badge bad status\">Unhealthy</span>",
            "Degraded" => "<span class=\"badge warn status\">Degraded</span>",
            "Healthy" => "<span class=\"badge ok status\">Healthy</span>",
            _ => "<span class=\"badge ok status\">Serving</span>",
        };
    }

    private static void RenderHolders(StringBuilder html, PoolDocument pool)
    {
        html.Append("<h3>Holders, oldest first</h3>");
        if (pool.Holders.Count == 0)
        {
            html.Append("<p class=\"holders-empty\">Nothing is leased.</p>");
            return;
        }

        html.Append("<table class=\"holders\"><thead><tr><th>Call site</th><th>Leases</th><th>Oldest held (s)</th></tr></thead><tbody>");
        foreach (var holder in pool.Holders.OrderByDescending(static holder => holder.OldestHeldForSeconds))
        {
            var over = pool.LeakDetectionThresholdSeconds is { } threshold && holder.OldestHeldForSeconds > threshold;
            html.Append(CultureInfo.InvariantCulture, $"<tr class=\"holder{(over ? " over" : string.Empty)}\"><td>{Encode(holder.CallSite)}</td><td class=\"num\">{holder.Leases}</td><td class=\"num\">{holder.OldestHeldForSeconds:0.0}</td></tr>");
        }

        html.Append("</tbody></table>");
        if (pool.OldestLease is { Stack: { } stack } oldest)
        {
            html.Append(CultureInfo.InvariantCulture, $"<details><summary>Stack of the oldest lease ({Encode(oldest.CallSite)})</summary><pre>{Encode(stack)}</pre></details>");
        }
    }

    private static void RenderLeasedChart(StringBuilder html, PoolDocument pool)
    {
        var samples = pool.LeasedHistory;
        var top = Math.Max(1, Math.Max(pool.MaxPoolSize, samples.Max(static sample => sample.Leased ?? 0)));
        html.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart chart-leased\" role=\"img\" aria-label=\"Leased connections against Max Pool Size {pool.MaxPoolSize}\" width=\"{ChartWidth}\" height=\"{ChartHeight}\" viewBox=\"0 0 {ChartWidth} {ChartHeight}\">");
        var maxY = Y(pool.MaxPoolSize, top);
        html.Append(CultureInfo.InvariantCulture, $"<line class=\"max\" x1=\"0\" y1=\"{maxY:0.#}\" x2=\"{ChartWidth}\" y2=\"{maxY:0.#}\" stroke=\"#c62828\" stroke-dasharray=\"6 4\"/>");
        html.Append(CultureInfo.InvariantCulture, $"<text x=\"4\" y=\"{Math.Max(12, maxY - 3):0.#}\" font-size=\"11\" fill=\"#c62828\">max {pool.MaxPoolSize}</text>");
        var path = new StringBuilder();
        var dots = new StringBuilder();
        var step = samples.Count > 1 ? (double)(ChartWidth - 8) / (samples.Count - 1) : 0;
        var drawing = false;
        for (var i = 0; i < samples.Count; i++)
        {
            if (samples[i].Leased is not { } leased)
            {
                drawing = false;
                continue;
            }

            // A dot per sampled bucket, so a lone sample (a gap on each side) still shows.
            var x = 4 + (i * step);
            path.Append(CultureInfo.InvariantCulture, $"{(drawing ? 'L' : 'M')}{x:0.#} {Y(leased, top):0.#} ");
            dots.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{x:0.#}\" cy=\"{Y(leased, top):0.#}\" r=\"2.5\" fill=\"#1565c0\"><title>{leased} leased</title></circle>");
            drawing = true;
        }

        if (path.Length > 0)
        {
            html.Append(CultureInfo.InvariantCulture, $"<path class=\"leased\" d=\"{path.ToString().TrimEnd()}\" fill=\"none\" stroke=\"#1565c0\" stroke-width=\"2\"/>");
            html.Append(dots);
        }

        html.Append(CultureInfo.InvariantCulture, $"<text x=\"{ChartWidth - 4}\" y=\"30\" font-size=\"11\" text-anchor=\"end\" fill=\"#1565c0\">leased now {pool.Leased}</text></svg>");
    }

    private static void RenderFailuresChart(StringBuilder html, PoolDocument pool)
    {
        var buckets = pool.Failures.Buckets;
        var kinds = pool.Failures.ByKind.Keys.ToList();
        var top = Math.Max(1, buckets.Count == 0 ? 0 : buckets.Max(static bucket => bucket.ByKind.Values.Sum()));
        var width = buckets.Count == 0 ? ChartWidth : (double)ChartWidth / buckets.Count;
        html.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart chart-failures\" role=\"img\" aria-label=\"Failed opens by kind per bucket\" width=\"{ChartWidth}\" height=\"{ChartHeight}\" viewBox=\"0 0 {ChartWidth} {ChartHeight}\">");
        for (var i = 0; i < buckets.Count; i++)
        {
            var y = (double)ChartHeight;
            foreach (var (kind, count) in buckets[i].ByKind)
            {
                var height = (double)count / top * (ChartHeight - 14);
                y -= height;
                html.Append(CultureInfo.InvariantCulture, $"<rect class=\"failure\" data-kind=\"{Encode(kind)}\" x=\"{i * width + 1:0.#}\" y=\"{y:0.#}\" width=\"{Math.Max(1, width - 2):0.#}\" height=\"{height:0.#}\" fill=\"{ColorOf(kind, kinds)}\"><title>{Encode(kind)}: {count}</title></rect>");
            }
        }

        if (kinds.Count == 0)
        {
            html.Append(CultureInfo.InvariantCulture, $"<text x=\"{ChartWidth / 2}\" y=\"{ChartHeight / 2}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#666\">no failed opens in the window</text>");
        }

        html.Append("</svg>");
        if (kinds.Count > 0)
        {
            html.Append("<p class=\"legend\">");
            foreach (var (kind, count) in pool.Failures.ByKind)
            {
                html.Append(CultureInfo.InvariantCulture, $"<span class=\"failure-kind\" data-kind=\"{Encode(kind)}\"><i class=\"swatch\" style=\"background:{ColorOf(kind, kinds)}\"></i>{Encode(kind)}: <b>{count}</b></span>");
            }

            html.Append("</p>");
        }
    }

    private static void RenderLeaks(StringBuilder html, PoolDocument pool)
    {
        html.Append("<h3>Recent leaks, newest first</h3>");
        if (pool.RecentLeaks.Count == 0)
        {
            html.Append("<p class=\"leaks-empty\">No leak reported since start.</p>");
            return;
        }

        html.Append("<table class=\"leaks\"><thead><tr><th>Detected (UTC)</th><th>Kind</th><th>Call site</th><th>Held (s)</th><th>Report</th></tr></thead><tbody>");
        foreach (var leak in pool.RecentLeaks)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr class=\"leak\"><td>{Encode(leak.DetectedAt.ToString("HH:mm:ss", CultureInfo.InvariantCulture))}</td><td>{Encode(leak.Kind)}</td><td>{Encode(leak.CallSite)}</td><td class=\"num\">{leak.HeldForSeconds:0.0}</td><td>{Encode(leak.Message)}</td></tr>");
        }

        html.Append("</tbody></table>");
    }

    private static void RenderTcp(StringBuilder html, TcpDocument? tcp)
    {
        if (tcp is null)
        {
            return;
        }

        html.Append("<h3>TCP on this machine</h3><p class=\"tcp summary\">");
        html.Append(CultureInfo.InvariantCulture, $"<span>Ephemeral ports in use <b>{tcp.PortsInUse}</b> of {tcp.EphemeralPortCount}</span><span>TIME_WAIT <b>{tcp.TimeWaitTotal}</b></span>");
        if (tcp.ServerEndPoint is not null)
        {
            html.Append(CultureInfo.InvariantCulture, $"<span>Towards {Encode(tcp.ServerEndPoint)}: <b>{Count(tcp.ConnectionsTowardsServer)}</b> connections, <b>{Count(tcp.TimeWaitTowardsServer)}</b> in TIME_WAIT</span>");
        }

        html.Append(CultureInfo.InvariantCulture, $"<span class=\"muted\">{(tcp.IndicatesExhaustion ? "near exhaustion; " : string.Empty)}source {Encode(tcp.Source)}</span></p>");
    }

    private static string Count(int? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "n/a";

    private static double Y(int value, int top) => ChartHeight - 2 - ((double)value / top * (ChartHeight - 16));

    private static string ColorOf(string kind, List<string> kinds) => s_palette[Math.Max(0, kinds.IndexOf(kind)) % s_palette.Length];

    private static string Encode(string value) => HtmlEncoder.Default.Encode(value);
}

using System.ComponentModel.DataAnnotations;

using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SafeSql.AspNetCore;

/// <summary>
/// What the diagnostics endpoint (<c>MapSafeSqlDiagnostics</c>) keeps and how its page behaves. Every figure it keeps is
/// bounded: a ring of recent leak reports per pool and a fixed number of time buckets per pool.
/// </summary>
/// <remarks>Read once, when the diagnostics collector is created (the first <c>MapSafeSqlDiagnostics</c> call); validated at startup.</remarks>
public sealed class SafeSqlDiagnosticsOptions
{
    /// <summary>Gets or sets how many leak reports are kept per pool, newest first; older ones are dropped.</summary>
    /// <value>The default value is 20. Accepted range: 1 to 1000.</value>
    [Range(1, 1000)]
    public int RecentLeakCapacity { get; set; } = 20;

    /// <summary>
    /// Gets or sets the recent window of the failure counts and of the leased-vs-max history, split into 30 buckets of equal
    /// width (10 seconds with the default).
    /// </summary>
    /// <value>The default value is 5 minutes. Accepted range: 30 seconds to 1 hour.</value>
    [Range(typeof(TimeSpan), "00:00:30", "01:00:00")]
    public TimeSpan HistoryWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets how often the page reloads itself (an HTML <c>meta refresh</c>: no script).</summary>
    /// <value>The default value is 5 seconds. Accepted range: 1 second to 1 hour.</value>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PageRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets how long a health result is reused. SafeSql's health check opens a connection and runs <c>SELECT 1</c>,
    /// so it runs at most once per this interval whatever the number of requests; a request waits for a fresh result at most
    /// 2 seconds, then shows the previous one.
    /// </summary>
    /// <value>The default value is 10 seconds. Accepted range: 1 second to 1 hour.</value>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan HealthCacheDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets which health check registrations the endpoint runs (through <see cref="HealthCheckService"/>, when the
    /// application called <c>AddHealthChecks()</c>). A result is shown on the pool named by its <c>poolName</c> data, which
    /// SafeSql's health check (<c>AddSafeSqlHealthCheck</c>) reports.
    /// </summary>
    /// <value>
    /// The default value is <see langword="null"/>: the registrations whose name starts with "safesql" (the default name of
    /// <c>AddSafeSqlHealthCheck</c>), case-insensitively, so the endpoint never runs the application's other checks.
    /// </value>
    public Func<HealthCheckRegistration, bool>? HealthCheckPredicate { get; set; }
}

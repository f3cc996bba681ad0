namespace SafeSql.Diagnostics;

/// <summary>
/// The names to subscribe to SafeSql's telemetry: with OpenTelemetry, <c>AddMeter(SafeSqlTelemetry.MeterName)</c> and
/// <c>AddSource(SafeSqlTelemetry.ActivitySourceName)</c>; with a <see cref="System.Diagnostics.Metrics.MeterListener"/> or an
/// <see cref="System.Diagnostics.ActivityListener"/>, the meter's and the source's <c>Name</c>. docs/telemetry.md lists every
/// instrument and the span.
/// </summary>
public static class SafeSqlTelemetry
{
    /// <summary>The name of the meter ("SafeSql"): OpenTelemetry's <c>db.client.connection.*</c> instruments (count, max,
    /// pending requests, timeouts, create, wait and use time) and SafeSql's own under <c>db.client.connection.safesql.*</c>.</summary>
    public const string MeterName = "SafeSql";

    /// <summary>The name of the activity source ("SafeSql"): one span per open through a data source, covering its retries,
    /// with an event per failed attempt. No activity is created while nothing listens to it.</summary>
    public const string ActivitySourceName = "SafeSql";
}

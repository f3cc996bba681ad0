using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

using SafeSql.Tool.Doctor;

namespace SafeSql.Tool.Output;

/// <summary>
/// The doctor's report as JSON for scripts: <c>{ "dataSource", "sqlClientVersion", "status", "exitCode", "checks": [ { "area",
/// "id", "status", "summary", "why", "fix", "figures": { ... } } ] }</c>, statuses as "ok", "warning", "problem".
/// </summary>
internal static class DoctorJson
{
    private static readonly JsonSerializerOptions s_options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,

        // Read by scripts and people, never embedded in HTML: keep ' + < > as they are ("Login failed for user 'sa'").
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static string Serialize(DoctorReport report) =>
        JsonSerializer.Serialize(
            new { report.DataSource, report.SqlClientVersion, report.Status, report.ExitCode, report.Checks },
            s_options);
}

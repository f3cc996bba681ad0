using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SafeSql.Demo.Reporting;

/// <summary>The JSON settings of <c>--json</c> (camelCase, indented, nulls left out).</summary>
internal static class DemoJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // console output, not HTML: keep ' and " readable
    };
}

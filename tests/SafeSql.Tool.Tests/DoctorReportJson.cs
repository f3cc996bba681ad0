using System.Text.Json;

namespace SafeSql.Tool.Tests;

/// <summary>The doctor's <c>--json</c> output, parsed, with its checks by id.</summary>
internal sealed class DoctorReportJson : IDisposable
{
    private readonly JsonDocument _document;

    public DoctorReportJson(string json)
    {
        _document = JsonDocument.Parse(json);
    }

    public JsonElement Root => _document.RootElement;

    public IReadOnlyList<JsonElement> Checks => [.. Root.GetProperty("checks").EnumerateArray()];

    public IReadOnlyList<string> Ids => [.. Checks.Select(c => c.GetProperty("id").GetString()!)];

    public JsonElement Check(string id) =>
        Checks.SingleOrDefault(c => c.GetProperty("id").GetString() == id) is { ValueKind: JsonValueKind.Object } check
            ? check
            : throw new Xunit.Sdk.XunitException($"No check '{id}' in the report; it has: {string.Join(", ", Ids)}.");

    public static string Status(JsonElement check) => check.GetProperty("status").GetString()!;

    public static string Summary(JsonElement check) => check.GetProperty("summary").GetString()!;

    public static JsonElement Figure(JsonElement check, string name) => check.GetProperty("figures").GetProperty(name);

    public void Dispose() => _document.Dispose();
}

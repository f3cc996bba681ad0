using System.Text.Json.Serialization;

namespace SafeSql.AspNetCore;

/// <summary>The serializer of <see cref="DiagnosticsDocument"/> (source generated: no reflection, trimming-safe). Nulls are written, so every field of the schema is always present.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(DiagnosticsDocument))]
internal sealed partial class DiagnosticsJsonContext : JsonSerializerContext;

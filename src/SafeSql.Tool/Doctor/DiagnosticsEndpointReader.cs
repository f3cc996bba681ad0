using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace SafeSql.Tool.Doctor;

/// <summary>
/// Reads a running application's SafeSql diagnostics endpoint (<c>MapSafeSqlDiagnostics</c>, JSON schema version 1,
/// docs/diagnostics.md) over HTTP and keeps what <c>doctor --url</c> prints and judges.
/// </summary>
internal static class DiagnosticsEndpointReader
{
    /// <summary>The schema version this tool reads.</summary>
    public const int SchemaVersion = 1;

    /// <summary>The bound of the whole read: connect, headers and body.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// GETs <paramref name="url"/> asking for JSON, with the extra <paramref name="headers"/> (authorization). Never throws for
    /// an unreachable, refusing or unexpected endpoint: the result then carries the error, in words that never repeat a header value.
    /// </summary>
    public static async Task<DiagnosticsEndpointRead> ReadAsync(Uri url, IReadOnlyList<KeyValuePair<string, string>> headers, CancellationToken cancellationToken = default)
    {
        using var client = new HttpClient { Timeout = Timeout };
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        string body;
        try
        {
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                return DiagnosticsEndpointRead.Failed(
                    $"{(int)response.StatusCode} {response.ReasonPhrase}: the endpoint requires authorization (MapSafeSqlDiagnostics does by default). Pass the credentials the application accepts, e.g. --header \"Authorization: Bearer <token>\".");
            }

            if (!response.IsSuccessStatusCode)
            {
                return DiagnosticsEndpointRead.Failed($"{(int)response.StatusCode} {response.ReasonPhrase}: is this the URL given to MapSafeSqlDiagnostics (its JSON is also at <pattern>.json)?");
            }

            body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            return DiagnosticsEndpointRead.Failed($"cannot read the endpoint: {ex.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return DiagnosticsEndpointRead.Failed($"no answer within {Timeout.TotalSeconds:0} s.");
        }

        try
        {
            return Parse(body);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            return DiagnosticsEndpointRead.Failed($"the answer is not SafeSql diagnostics JSON (schema version {SchemaVersion}): {ex.Message}");
        }
    }

    /// <summary>Parses a schema version 1 document.</summary>
    public static DiagnosticsEndpointRead Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var version = root.GetProperty("schemaVersion").GetInt32();
        if (version != SchemaVersion)
        {
            return DiagnosticsEndpointRead.Failed($"the endpoint serves schema version {version}; this safesql reads version {SchemaVersion}. Use the safesql that matches the application's SafeSql.AspNetCore.");
        }

        var pools = root.GetProperty("pools").EnumerateArray().Select(static pool => new DiagnosticsPool(
            pool.GetProperty("name").GetString()!,
            pool.GetProperty("server").GetString()!,
            pool.GetProperty("leased").GetInt32(),
            pool.GetProperty("maxPoolSize").GetInt32(),
            pool.GetProperty("exhausted").GetBoolean(),
            pool.GetProperty("pendingOpens").ValueKind == JsonValueKind.Number ? pool.GetProperty("pendingOpens").GetInt64() : null,
            pool.GetProperty("leakDetectionThresholdSeconds").ValueKind == JsonValueKind.Number ? pool.GetProperty("leakDetectionThresholdSeconds").GetDouble() : null,
            pool.GetProperty("poolTimeouts").GetInt64(),
            pool.GetProperty("health").ValueKind == JsonValueKind.Object ? pool.GetProperty("health").GetProperty("status").GetString() : null,
            [.. pool.GetProperty("holders").EnumerateArray().Select(static holder => new DiagnosticsHolder(
                holder.GetProperty("callSite").GetString()!,
                holder.GetProperty("leases").GetInt32(),
                holder.GetProperty("oldestHeldForSeconds").GetDouble()))],
            [.. pool.GetProperty("failures").GetProperty("byKind").EnumerateObject().Select(static kind => new KeyValuePair<string, long>(kind.Name, kind.Value.GetInt64()))],
            [.. pool.GetProperty("recentLeaks").EnumerateArray().Select(static leak => new DiagnosticsLeak(
                leak.GetProperty("kind").GetString()!,
                leak.GetProperty("detectedAt").GetDateTimeOffset(),
                leak.GetProperty("callSite").GetString()!,
                leak.GetProperty("heldForSeconds").GetDouble()))]));
        return new DiagnosticsEndpointRead(
            null,
            root.GetProperty("safeSqlVersion").GetString(),
            root.GetProperty("sqlClientVersion").GetString(),
            root.GetProperty("windowSeconds").GetDouble(),
            [.. pools]);
    }

    /// <summary>The URL as printed: scheme, host, port and path only (user info and query may hold credentials).</summary>
    public static string Display(Uri url) =>
        string.Create(CultureInfo.InvariantCulture, $"{url.Scheme}://{url.Host}{(url.IsDefaultPort ? string.Empty : ":" + url.Port.ToString(CultureInfo.InvariantCulture))}{url.AbsolutePath}");
}

/// <summary>What one read gave: the pools, or the error that stopped it.</summary>
internal sealed record DiagnosticsEndpointRead(string? Error, string? SafeSqlVersion, string? SqlClientVersion, double WindowSeconds, IReadOnlyList<DiagnosticsPool> Pools)
{
    /// <summary>The exit code of an endpoint that could not be read.</summary>
    public const int UnreadableExitCode = 3;

    public static DiagnosticsEndpointRead Failed(string error) => new(error, null, null, 0, []);

    /// <summary>Gets the exit code: 3 unreadable, 2 a pool exhausted, 1 a lease older than its pool's leak threshold, 0 otherwise.</summary>
    public int ExitCode =>
        Error is not null ? UnreadableExitCode
        : Pools.Any(static pool => pool.Exhausted) ? 2
        : Pools.Any(static pool => pool.HoldersOverThreshold > 0) ? 1
        : 0;
}

/// <summary>One pool of the endpoint.</summary>
internal sealed record DiagnosticsPool(
    string Name,
    string Server,
    int Leased,
    int MaxPoolSize,
    bool Exhausted,
    long? PendingOpens,
    double? LeakThresholdSeconds,
    long PoolTimeouts,
    string? Health,
    IReadOnlyList<DiagnosticsHolder> Holders,
    IReadOnlyList<KeyValuePair<string, long>> FailuresByKind,
    IReadOnlyList<DiagnosticsLeak> RecentLeaks)
{
    /// <summary>Gets the number of holders (call sites) whose oldest lease is older than the leak threshold; 0 when the watchdog is off.</summary>
    public int HoldersOverThreshold => LeakThresholdSeconds is { } threshold ? Holders.Count(holder => holder.OldestHeldForSeconds > threshold) : 0;
}

/// <summary>A call site holding leases.</summary>
internal sealed record DiagnosticsHolder(string CallSite, int Leases, double OldestHeldForSeconds);

/// <summary>A recent leak report.</summary>
internal sealed record DiagnosticsLeak(string Kind, DateTimeOffset DetectedAt, string CallSite, double HeldForSeconds);

namespace SafeSql.Diagnostics;

/// <summary>
/// How a SafeSql instance (and its pool) is named in every human-readable text: log messages (the <c>{PoolName}</c> and
/// <c>{SafeSqlInstance}</c> placeholders), exception messages, leak reports, health check descriptions and data. The
/// default instance (<see cref="Microsoft.Extensions.Options.Options.DefaultName"/>, the empty string) is shown as
/// <see cref="Default"/>, so no text reads <c>pool ''</c>.
/// </summary>
/// <remarks>
/// Values meant for programs keep the registered name as is: <c>SqlConnectionPoolSnapshot.PoolName</c> /
/// <c>SqlConnectionLease.PoolName</c>. The telemetry attribute <c>db.client.connection.pool.name</c> is never
/// empty: a named instance's name, or for the default instance OpenTelemetry's fallback
/// <c>server.address:server.port/db.namespace</c>.
/// </remarks>
internal static class PoolDisplayName
{
    /// <summary>How the default (unnamed) instance is shown.</summary>
    internal const string Default = "(default)";

    /// <summary>Returns the display name of the instance registered as <paramref name="name"/>.</summary>
    internal static string Of(string? name) => string.IsNullOrEmpty(name) ? Default : name;
}

using Microsoft.Extensions.Diagnostics.HealthChecks;

using SafeSql;
using SafeSql.Diagnostics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds SafeSql's pool health check to ASP.NET Core / Microsoft.Extensions health checks.</summary>
public static class SafeSqlHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a health check of one SafeSql pool: Healthy; Degraded under pool pressure (80 % of Max Pool Size leased) or
    /// when a leak was reported in the last 5 minutes; <paramref name="failureStatus"/> when opening a connection (plus
    /// <c>SELECT 1</c>) fails. The result data holds the pool snapshot (leased, Max Pool Size, oldest lease and its call
    /// site, top call sites, leak and pool-timeout counts), never the connection string.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The health check's registration name, shown in the health report (not the data source's name). The default value is "safesql".</param>
    /// <param name="failureStatus">The status reported when opening fails. The default value (<see langword="null"/>) is <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter health checks with, or <see langword="null"/>.</param>
    /// <param name="dataSourceName">The data source to check: the name given to <c>AddSafeSql</c>. The default value (<see langword="null"/>) is the default data source (<see cref="Options.Options.DefaultName"/>).</param>
    /// <returns>The value of <paramref name="builder"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="name"/> is <see langword="null"/>.</exception>
    /// <remarks>The data source must be registered with <c>AddSafeSql</c>; resolving the check throws <see cref="InvalidOperationException"/> otherwise.</remarks>
    public static IHealthChecksBuilder AddSafeSqlHealthCheck(
        this IHealthChecksBuilder builder,
        string name = "safesql",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        string? dataSourceName = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(name);
        var key = dataSourceName ?? Options.Options.DefaultName;
        return builder.Add(new HealthCheckRegistration(
            name,
            services => new SafeSqlDataSourceHealthCheck(services.GetRequiredKeyedService<SafeSqlDataSource>(key)),
            failureStatus,
            tags));
    }
}

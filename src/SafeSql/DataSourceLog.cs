using Microsoft.Extensions.Logging;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>
/// Log messages of the data source itself: its lifetime and where it was resolved from (event ids 1000s,
/// <see cref="SafeSqlEventId"/>). Partial by concern: <c>DataSourceLog.Policy.cs</c> (the connection-string verdict at
/// startup), <c>DataSourceLog.Open.cs</c> (failed opens and their retries).
/// </summary>
internal static partial class DataSourceLog
{
    [LoggerMessage(
        EventId = SafeSqlEventId.DataSourceDisposedWithLeases,
        Level = LogLevel.Warning,
        Message = "SafeSql pool '{PoolName}': the data source was disposed with {LeasedCount} connection(s) still leased (oldest: {OldestLease}). Dispose every connection before the application stops.")]
    internal static partial void DataSourceDisposedWithLeases(ILogger logger, string poolName, int leasedCount, string oldestLease);

    [LoggerMessage(
        EventId = SafeSqlEventId.ScopedFactoryResolvedFromRoot,
        Level = LogLevel.Error,
        Message = "SafeSql pool '{PoolName}': ISqlConnectionFactory, a scoped service, was resolved from the root service provider (a singleton or a background service holds it, or scope validation is off). A scope there would last until shutdown and hold every connection opened through it, so a leaked connection could never be collected and reported. SafeSql gave it an unscoped factory instead: leaks are reported when a dropped connection is collected or held longer than LeakDetectionThreshold. Inject SafeSqlDataSource (or DbDataSource) into singletons and create a scope per unit of work: await using var scope = dataSource.CreateScope();")]
    internal static partial void ScopedFactoryResolvedFromRoot(ILogger logger, string poolName);
}

using Microsoft.Extensions.Logging;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>Log messages of the connection-string policy's verdict at startup (event ids 4000s).</summary>
internal static partial class DataSourceLog
{
    [LoggerMessage(
        EventId = SafeSqlEventId.ConnectionStringAccepted,
        EventName = nameof(SafeSqlEventId.ConnectionStringAccepted),
        Level = LogLevel.Debug,
        Message = "SafeSql instance '{SafeSqlInstance}': connection string to Data Source '{DataSource}', Initial Catalog '{InitialCatalog}' accepted and normalized.")]
    internal static partial void ConnectionStringAccepted(ILogger logger, string safeSqlInstance, string dataSource, string initialCatalog);

    [LoggerMessage(
        EventId = SafeSqlEventId.ConnectionStringWarning,
        EventName = nameof(SafeSqlEventId.ConnectionStringWarning),
        Level = LogLevel.Warning,
        Message = "SafeSql instance '{SafeSqlInstance}': connection string accepted with warning {RuleId}. {Finding}")]
    internal static partial void ConnectionStringWarning(ILogger logger, string safeSqlInstance, string ruleId, string finding);

    [LoggerMessage(
        EventId = SafeSqlEventId.ConnectionStringRefused,
        EventName = nameof(SafeSqlEventId.ConnectionStringRefused),
        Level = LogLevel.Error,
        Message = "SafeSql instance '{SafeSqlInstance}': connection string refused by {RuleId}. {Finding}")]
    internal static partial void ConnectionStringRefused(ILogger logger, string safeSqlInstance, string ruleId, string finding);
}

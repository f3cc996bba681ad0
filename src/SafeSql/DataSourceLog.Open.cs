using System.Net.Sockets;

using Microsoft.Extensions.Logging;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>Log messages of failed opens, their classification and their retries (event ids 3000-3999).</summary>
internal static partial class DataSourceLog
{
    [LoggerMessage(
        EventId = SafeSqlEventId.OpenAttemptFailed,
        EventName = nameof(SafeSqlEventId.OpenAttemptFailed),
        Level = LogLevel.Warning,
        Message = "Opening a connection of pool '{PoolName}' failed (attempt {AttemptNumber}): {FailureKind}, SQL error {SqlErrorNumber}, socket error {SocketError}; will retry: {WillRetry}. {Explanation}")]
    internal static partial void OpenAttemptFailed(ILogger logger, string poolName, int attemptNumber, SqlFailureKind failureKind, int? sqlErrorNumber, SocketError? socketError, bool willRetry, string explanation, Exception? exception);

    [LoggerMessage(
        EventId = SafeSqlEventId.OpenRetrying,
        EventName = nameof(SafeSqlEventId.OpenRetrying),
        Level = LogLevel.Information,
        Message = "Retrying the open of pool '{PoolName}' after {FailureKind} in {RetryDelayMilliseconds} ms (retry {RetryNumber} of at most {MaxRetryAttempts}).")]
    internal static partial void OpenRetrying(ILogger logger, string poolName, SqlFailureKind failureKind, long retryDelayMilliseconds, int retryNumber, int maxRetryAttempts);

    [LoggerMessage(
        EventId = SafeSqlEventId.OpenFailed,
        EventName = nameof(SafeSqlEventId.OpenFailed),
        Level = LogLevel.Error,
        Message = "Opening a connection of pool '{PoolName}' failed with {FailureKind} after {AttemptCount} attempt(s), not retried: {Reason}. The original exception is rethrown.")]
    internal static partial void OpenFailed(ILogger logger, string poolName, SqlFailureKind failureKind, int attemptCount, string reason);

    [LoggerMessage(
        EventId = SafeSqlEventId.SocketExhaustionDetected,
        EventName = nameof(SafeSqlEventId.SocketExhaustionDetected),
        Level = LogLevel.Error,
        Message = "Ephemeral port exhaustion towards {EndPoint} (pool '{PoolName}'): {PortsInUse} of {EphemeralPortCount} ephemeral ports in use, {TimeWaitCount} in TIME_WAIT. Enable connection pooling and dispose connections.")]
    internal static partial void SocketExhaustionDetected(ILogger logger, string endPoint, string poolName, int portsInUse, int ephemeralPortCount, int timeWaitCount);

    [LoggerMessage(
        EventId = SafeSqlEventId.CircuitOpened,
        EventName = nameof(SafeSqlEventId.CircuitOpened),
        Level = LogLevel.Warning,
        Message = "The circuit breaker of pool '{PoolName}' opened: SQL Server '{DataSource}' is unavailable ({FailureKind}). Opens fail at once until a probe sees the server answer again (Polly's half-open trial after {BreakDurationMilliseconds} ms). {Explanation}")]
    internal static partial void CircuitOpened(ILogger logger, string poolName, string dataSource, SqlFailureKind failureKind, long breakDurationMilliseconds, string explanation);

    [LoggerMessage(
        EventId = SafeSqlEventId.CircuitClosed,
        EventName = nameof(SafeSqlEventId.CircuitClosed),
        Level = LogLevel.Information,
        Message = "The circuit breaker of pool '{PoolName}' closed: SQL Server '{DataSource}' answers again after {UnavailableMilliseconds} ms.")]
    internal static partial void CircuitClosed(ILogger logger, string poolName, string dataSource, long unavailableMilliseconds);
}

using System.Net.Sockets;

using Microsoft.Extensions.Logging;

using SafeSql.Diagnostics;

namespace SafeSql.EntityFrameworkCore.Diagnostics;

/// <summary>Log messages of <see cref="SafeSqlExecutionStrategy"/> (event ids 3100-3199 of <see cref="SafeSqlEventId"/>).</summary>
internal static partial class Log
{
    [LoggerMessage(
        EventId = SafeSqlEntityFrameworkCoreEventId.ExecutionAttemptFailed,
        EventName = nameof(SafeSqlEntityFrameworkCoreEventId.ExecutionAttemptFailed),
        Level = LogLevel.Warning,
        Message = "An EF Core operation on pool '{PoolName}' failed (attempt {AttemptNumber}): {FailureKind}, SQL error {SqlErrorNumber}, socket error {SocketError}; will retry: {WillRetry} (in {RetryDelayMilliseconds} ms). {Explanation}")]
    internal static partial void ExecutionAttemptFailed(ILogger logger, string poolName, int attemptNumber, SqlFailureKind failureKind, int? sqlErrorNumber, SocketError? socketError, bool willRetry, long retryDelayMilliseconds, string explanation, Exception exception);

    [LoggerMessage(
        EventId = SafeSqlEntityFrameworkCoreEventId.ExecutionFailed,
        EventName = nameof(SafeSqlEntityFrameworkCoreEventId.ExecutionFailed),
        Level = LogLevel.Error,
        Message = "An EF Core operation on pool '{PoolName}' failed with {FailureKind} after {AttemptCount} attempt(s), not retried: {Reason}. {Thrown}")]
    internal static partial void ExecutionFailed(ILogger logger, string poolName, SqlFailureKind failureKind, int attemptCount, string reason, string thrown);
}

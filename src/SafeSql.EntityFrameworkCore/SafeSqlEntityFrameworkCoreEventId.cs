namespace SafeSql.EntityFrameworkCore;

/// <summary>
/// Event ids of SafeSql.EntityFrameworkCore's log messages (3100-3199, beside the core's <c>SafeSqlEventId</c> ranges):
/// failures and retries of EF Core operations by <see cref="SafeSqlExecutionStrategy"/>.
/// </summary>
public static class SafeSqlEntityFrameworkCoreEventId
{
    /// <summary>
    /// 3100 (Warning): an EF Core operation (a query, <c>SaveChanges</c>, a transaction block) failed and was classified. Logs
    /// the pool name, the attempt number, the <see cref="SqlFailureKind"/>, the SQL error number, the socket
    /// error, whether it will be retried, the delay in milliseconds and the explanation with the fix, with the exception.
    /// </summary>
    public const int ExecutionAttemptFailed = 3100;

    /// <summary>3101 (Error): an EF Core operation failed for good (not retryable, retries spent, or its outcome unknown); the exception the caller gets is named.</summary>
    public const int ExecutionFailed = 3101;
}

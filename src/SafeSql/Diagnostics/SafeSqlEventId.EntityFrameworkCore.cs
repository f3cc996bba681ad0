namespace SafeSql.Diagnostics;

/// <summary>Event ids 3100-3199: retries of EF Core operations by <c>SafeSqlExecutionStrategy</c> (package SafeSql.EntityFrameworkCore).</summary>
public static partial class SafeSqlEventId
{
    /// <summary>
    /// 3100 (Warning): an EF Core operation (a query, <c>SaveChanges</c>, a transaction block) failed and was classified. Logs
    /// the pool name, the attempt number, the <see cref="Classification.SqlFailureKind"/>, the SQL error number, the socket
    /// error, whether it will be retried, the delay in milliseconds and the explanation with the fix, with the exception.
    /// </summary>
    public const int ExecutionAttemptFailed = 3100;

    /// <summary>3101 (Error): an EF Core operation failed for good (not retryable, or retries spent); the original exception is rethrown.</summary>
    public const int ExecutionFailed = 3101;
}

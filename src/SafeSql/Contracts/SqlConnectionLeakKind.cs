namespace SafeSql;

/// <summary>Why SafeSql reported a lease.</summary>
public enum SqlConnectionLeakKind
{
    /// <summary>
    /// The connection was opened through a scope (<c>ISqlConnectionScope</c> or the DI scope of a request) and
    /// was still open when the scope ended. SafeSql disposed it, which returned it to the connection pool.
    /// </summary>
    NotDisposedBeforeScopeEnd = 1,

    /// <summary>
    /// The connection became unreachable and was garbage-collected without being closed or disposed. Until that
    /// collection, its pooled connection could not be reused; SqlClient reclaims it silently afterwards.
    /// </summary>
    CollectedWithoutDispose = 2,

    /// <summary>
    /// The connection has been open for longer than <c>SqlConnectionLeakOptions.LeakDetectionThreshold</c>.
    /// Reported once per lease; it may be legitimate long work, or a leak.
    /// </summary>
    HeldTooLong = 3,

    /// <summary>
    /// A lease reported as <see cref="HeldTooLong"/> was finally closed or disposed. Not a new leak: it is the follow-up
    /// of the earlier report, carrying the total time held, and it is not counted by the leak metric.
    /// </summary>
    ReturnedAfterHeldTooLong = 4,
}

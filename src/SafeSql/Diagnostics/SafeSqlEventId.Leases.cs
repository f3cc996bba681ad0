namespace SafeSql.Diagnostics;

/// <summary>Event ids of lease tracking (1000s) and leak detection (2000s).</summary>
public static partial class SafeSqlEventId
{
    /// <summary>1001 (Debug): a data source was created and tracks leases (pool name, Max Pool Size, stack capture, threshold).</summary>
    public const int LeaseTrackingStarted = 1001;

    /// <summary>1002 (Error): the connection pool timed out; the message names the call sites holding the leases.</summary>
    public const int PoolExhausted = 1002;

    /// <summary>1003 (Warning): the last data source on a pool was disposed while connections were still leased (count, oldest lease).</summary>
    public const int DataSourceDisposedWithLeases = 1003;

    /// <summary>
    /// 1004 (Error): the scoped <c>ISqlConnectionFactory</c> was resolved from the root service provider (by a singleton, or with
    /// scope validation off). A scope there would live until shutdown and hold its connections, hiding their leaks; SafeSql
    /// hands out an unscoped view instead. Inject <c>SafeSqlDataSource</c> and create a scope per unit of work.
    /// </summary>
    public const int ScopedFactoryResolvedFromRoot = 1004;

    /// <summary>2001 (Warning): a connection was still open when its scope ended; SafeSql disposed it (returned it to the pool).</summary>
    public const int LeakNotDisposedBeforeScopeEnd = 2001;

    /// <summary>2002 (Warning): a connection was garbage-collected without being closed or disposed.</summary>
    public const int LeakCollectedWithoutDispose = 2002;

    /// <summary>2003 (Warning): a connection has been held longer than <c>LeakDetectionThreshold</c>.</summary>
    public const int LeaseHeldTooLong = 2003;

    /// <summary>2004 (Information): a connection reported as held too long was finally returned.</summary>
    public const int LeaseReturnedAfterHeldTooLong = 2004;

    /// <summary>2005 (Warning): the <c>OnLeakDetected</c> callback threw; the report was still logged and counted.</summary>
    public const int LeakCallbackFailed = 2005;

    /// <summary>2006 (Warning): disposing a leaked connection at scope end threw; the scope went on with the others.</summary>
    public const int LeakedConnectionDisposeFailed = 2006;

    /// <summary>2007 (Warning): reporting a leak on a background thread (finalizer drain, watchdog) threw, e.g. a logging provider failed; the drain and the watchdog went on.</summary>
    public const int LeakReportFailed = 2007;
}

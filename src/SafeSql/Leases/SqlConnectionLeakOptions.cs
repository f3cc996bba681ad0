using System.ComponentModel.DataAnnotations;

namespace SafeSql;

/// <summary>How leases are tracked and when leaks are reported.</summary>
/// <remarks>
/// <para>
/// Every connection a SafeSql factory opens is tracked by a lease until it is closed or disposed. Leaks are reported
/// (logs with event ids 2001-2004, the <c>db.client.connection.safesql.leaks</c> counter and
/// <see cref="OnLeakDetected"/>) in four ways: a scope ends with the connection still open
/// (<see cref="SqlConnectionLeakKind.NotDisposedBeforeScopeEnd"/>), the connection is garbage-collected without being
/// disposed (<see cref="SqlConnectionLeakKind.CollectedWithoutDispose"/>), or it is held longer than
/// <see cref="LeakDetectionThreshold"/> (<see cref="SqlConnectionLeakKind.HeldTooLong"/>, then
/// <see cref="SqlConnectionLeakKind.ReturnedAfterHeldTooLong"/> when it is finally returned).
/// </para>
/// <para>The factory reads these options once, when it is created; later changes are not observed.</para>
/// </remarks>
public class SqlConnectionLeakOptions
{
    /// <summary>The validation message of <see cref="LeakDetectionThreshold"/> ({1} and {2} are the bounds).</summary>
    private const string LeakDetectionThresholdRangeMessage =
        "The field {0} must be between {1} and {2} (HikariCP's minimum leakDetectionThreshold to one day), or null to turn the held-too-long watchdog off; zero and Timeout.InfiniteTimeSpan are not accepted.";

    /// <summary>Gets or sets how much of the opening code each lease records.</summary>
    /// <value>
    /// The default value is <see cref="SqlConnectionStackCaptureMode.CallSite"/>: file, line and member of the caller, at no cost.
    /// <see cref="SqlConnectionStackCaptureMode.Full"/> adds a stack trace per open (tens of microseconds each).
    /// </value>
    [EnumDataType(typeof(SqlConnectionStackCaptureMode))]
    public SqlConnectionStackCaptureMode StackCapture { get; set; } = SqlConnectionStackCaptureMode.CallSite;

    /// <summary>
    /// Gets or sets how long a connection may stay open before it is reported as
    /// <see cref="SqlConnectionLeakKind.HeldTooLong"/> (once, with its call site or stack), and reported again when it is
    /// finally returned. <see langword="null"/> turns the watchdog off; it is the only way to: zero and
    /// <see cref="Timeout.InfiniteTimeSpan"/> are outside the accepted range and fail validation at startup.
    /// </summary>
    /// <value>
    /// The default value is 30 seconds, SqlClient's default <c>SqlCommand.CommandTimeout</c>: a lease held longer has
    /// outlived the budget SqlClient gives any single command. Accepted range: 2 seconds (HikariCP's minimum
    /// <c>leakDetectionThreshold</c>, below which normal work gets reported) to 1 day, or <see langword="null"/> (off).
    /// </value>
    /// <remarks>
    /// The watchdog runs on the factory's <see cref="TimeProvider"/>: one timer per pool, armed for the earliest
    /// deadline, so its cost does not grow with the number of opens.
    /// </remarks>
    [Range(typeof(TimeSpan), LeaseDefaults.MinLeakDetectionThreshold, LeaseDefaults.MaxLeakDetectionThreshold, ErrorMessage = LeakDetectionThresholdRangeMessage)]
    public TimeSpan? LeakDetectionThreshold { get; set; } = TimeSpan.FromSeconds(LeaseDefaults.LeakDetectionThresholdSeconds);

    /// <summary>Gets or sets a callback invoked for every leak report, after it is logged and counted.</summary>
    /// <value>The default value is <see langword="null"/> (reports are only logged and counted).</value>
    /// <remarks>
    /// The callback runs on the thread that detected the leak: the thread disposing a scope, the thread closing a
    /// connection (<see cref="SqlConnectionLeakKind.ReturnedAfterHeldTooLong"/>), a timer thread
    /// (<see cref="SqlConnectionLeakKind.HeldTooLong"/>) or a thread-pool thread after a garbage collection
    /// (<see cref="SqlConnectionLeakKind.CollectedWithoutDispose"/>; never the finalizer thread). Keep it short and
    /// thread-safe; an exception it throws is logged (event id 2005) and otherwise ignored.
    /// </remarks>
    public Action<SqlConnectionLeakReport>? OnLeakDetected { get; set; }
}

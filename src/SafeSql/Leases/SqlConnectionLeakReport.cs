namespace SafeSql;

/// <summary>A leak SafeSql detected: what kind, which lease, when, and a message that reads well on its own.</summary>
/// <remarks>
/// Delivered to <see cref="SqlConnectionLeakOptions.OnLeakDetected"/>; the same text is logged with event id 2001-2004
/// (<see cref="Diagnostics.SafeSqlEventId"/>). It never contains the connection string.
/// </remarks>
public sealed class SqlConnectionLeakReport
{
    internal SqlConnectionLeakReport(SqlConnectionLeakKind kind, SqlConnectionLease lease, DateTimeOffset detectedAt, string message)
    {
        Kind = kind;
        Lease = lease;
        DetectedAt = detectedAt;
        Message = message;
    }

    /// <summary>Gets why the lease was reported.</summary>
    /// <value>One of the <see cref="SqlConnectionLeakKind"/> values.</value>
    public SqlConnectionLeakKind Kind { get; }

    /// <summary>Gets the lease: pool name, call site, open time, time held and (in <see cref="SqlConnectionStackCaptureMode.Full"/>) the stack.</summary>
    /// <value>A snapshot of the lease at <see cref="DetectedAt"/>.</value>
    public SqlConnectionLease Lease { get; }

    /// <summary>Gets when SafeSql detected the leak, on the factory's <see cref="TimeProvider"/> clock.</summary>
    /// <value>A UTC point in time.</value>
    public DateTimeOffset DetectedAt { get; }

    /// <summary>Gets the human-readable report: what happened, where the connection was opened, for how long, and what to do.</summary>
    /// <value>The same text as the log message.</value>
    public string Message { get; }

    /// <summary>Returns <see cref="Message"/>.</summary>
    /// <returns>The report text.</returns>
    public override string ToString() => Message;
}

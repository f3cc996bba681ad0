namespace SafeSql;

/// <summary>
/// One lease as it was when a report or a snapshot was taken: which pool, where the connection was opened, when, and
/// for how long it had been held. Immutable; it holds no reference to the connection.
/// </summary>
public sealed class SqlConnectionLease
{
    internal SqlConnectionLease(string poolName, SqlConnectionCallSite? callSite, DateTimeOffset openedAt, TimeSpan heldFor, string? stackTrace)
    {
        PoolName = poolName;
        CallSite = callSite;
        OpenedAt = openedAt;
        HeldFor = heldFor;
        StackTrace = stackTrace;
    }

    /// <summary>Gets the name of the factory (pool) that opened the connection.</summary>
    /// <value>The data source's name (<c>SafeSqlDataSource.Name</c>, the name given to <c>AddSafeSql</c>), which is also the <c>db.client.connection.pool.name</c> metric tag.</value>
    public string PoolName { get; }

    /// <summary>Gets where the connection was opened.</summary>
    /// <value><see langword="null"/> when <c>SqlConnectionLeakOptions.StackCapture</c> is <see cref="SqlConnectionStackCaptureMode.None"/>.</value>
    public SqlConnectionCallSite? CallSite { get; }

    /// <summary>Gets when the connection was opened, on the factory's <see cref="TimeProvider"/> clock.</summary>
    /// <value>A UTC point in time.</value>
    public DateTimeOffset OpenedAt { get; }

    /// <summary>Gets how long the connection had been held when this lease was observed (or in total, once returned).</summary>
    /// <value>A non-negative duration.</value>
    public TimeSpan HeldFor { get; }

    /// <summary>Gets the stack of the opening thread, captured at open.</summary>
    /// <value><see langword="null"/> unless <c>SqlConnectionLeakOptions.StackCapture</c> is <see cref="SqlConnectionStackCaptureMode.Full"/>.</value>
    public string? StackTrace { get; }

    /// <summary>Describes the lease, e.g. <c>OrderRepository.cs:42 (GetOrders), held 31.2 s</c>.</summary>
    /// <returns>Call site (or "unknown call site") and time held.</returns>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{CallSite?.ToString() ?? "unknown call site"}, held {HeldFor.TotalSeconds:0.###} s");
}

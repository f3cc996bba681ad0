namespace SafeSql;

/// <summary>
/// The connection pool timed out because every connection was leased; the message names the call sites holding them.
/// </summary>
/// <remarks>
/// <para>
/// SafeSql throws it in place of SqlClient's pool timeout ("Timeout expired. The timeout period elapsed prior to
/// obtaining a connection from the pool..."), which is its <see cref="Exception.InnerException"/>. It derives from
/// <see cref="InvalidOperationException"/>, so existing <c>catch (InvalidOperationException)</c> blocks keep working.
/// </para>
/// <para>
/// SqlClient waits <c>Connect Timeout</c> seconds for a free pooled connection before it gives up
/// (<c>DbConnectionPool.TryGetConnection</c>); raising <c>Max Pool Size</c> only delays the failure when connections
/// leak, so the message asks for the holders to dispose their connections.
/// </para>
/// </remarks>
public sealed class SqlConnectionPoolExhaustedException : InvalidOperationException
{
    /// <summary>Initializes a new instance of the <see cref="SqlConnectionPoolExhaustedException"/> class.</summary>
    public SqlConnectionPoolExhaustedException()
        : base("Connection pool exhausted.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SqlConnectionPoolExhaustedException"/> class with a message.</summary>
    /// <param name="message">The message.</param>
    public SqlConnectionPoolExhaustedException(string? message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SqlConnectionPoolExhaustedException"/> class with a message and the original exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">SqlClient's pool timeout.</param>
    public SqlConnectionPoolExhaustedException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal SqlConnectionPoolExhaustedException(string message, SqlConnectionPoolSnapshot snapshot, InvalidOperationException innerException)
        : base(message, innerException)
    {
        Snapshot = snapshot;
    }

    /// <summary>Gets the pool snapshot taken when the pool timed out: leased count, Max Pool Size, holders by call site.</summary>
    /// <value><see langword="null"/> only when the exception was not created by SafeSql.</value>
    public SqlConnectionPoolSnapshot? Snapshot { get; }

    /// <summary>
    /// Gets a value indicating whether every pooled connection was leased through SafeSql when SqlClient gave up (a leak or a
    /// pool too small). <see langword="false"/> when the pool was not full: the open waited behind SqlClient's creation of a
    /// new connection (one at a time per pool) towards a server that did not answer, or behind code that bypasses SafeSql.
    /// The classifier and the open path decide by it, not by the (localized) text of SqlClient's exception inside.
    /// </summary>
    internal bool PoolWasFull => Snapshot is null || Snapshot.LeasedCount >= Snapshot.MaxPoolSize;
}

namespace SafeSql;

/// <summary>
/// Marks an exception that SafeSql throws in place of SqlClient's pool timeout (the higher layer that detects the timeout
/// owns the type). The classifier decides <see cref="SqlFailureKind.PoolTimeout"/> by this marker, not by the localized
/// text of SqlClient's exception inside.
/// </summary>
internal interface IPoolTimeoutException
{
    /// <summary>
    /// Gets a value indicating whether every pooled connection was leased through SafeSql when SqlClient gave up (a leak or a
    /// pool too small). <see langword="false"/> when the pool was not full: the open waited behind SqlClient's creation of a
    /// new connection (one at a time per pool) towards a server that did not answer, or behind code that bypasses SafeSql.
    /// </summary>
    bool PoolWasFull { get; }
}

namespace SafeSql;

/// <summary>
/// A live view of one SafeSql pool: how many connections are leased now, against which Max Pool Size, the oldest lease,
/// the call sites holding the most and the oldest leases, and the leak and pool-timeout history.
/// </summary>
/// <remarks>
/// Get one with <c>SafeSqlDataSource.GetPoolSnapshot()</c> (in dependency injection, resolve the <c>SafeSqlDataSource</c> singleton, keyed by the name given to <c>AddSafeSql</c>). It counts the leases of connections opened
/// through SafeSql only: code that opens the same connection string with <c>new SqlConnection</c> shares SqlClient's pool
/// but is invisible here. It never contains the connection string.
/// </remarks>
public sealed class SqlConnectionPoolSnapshot
{
    internal SqlConnectionPoolSnapshot(
        string poolName,
        DateTimeOffset timestamp,
        int leasedCount,
        int maxPoolSize,
        bool pooling,
        SqlConnectionLease? oldestLease,
        IReadOnlyList<SqlConnectionCallSiteUsage> topCallSitesByCount,
        IReadOnlyList<SqlConnectionCallSiteUsage> topCallSitesByAge,
        long leaksDetected,
        DateTimeOffset? lastLeakDetectedAt,
        long poolTimeouts)
    {
        PoolName = poolName;
        Timestamp = timestamp;
        LeasedCount = leasedCount;
        MaxPoolSize = maxPoolSize;
        Pooling = pooling;
        OldestLease = oldestLease;
        TopCallSitesByCount = topCallSitesByCount;
        TopCallSitesByAge = topCallSitesByAge;
        LeaksDetected = leaksDetected;
        LastLeakDetectedAt = lastLeakDetectedAt;
        PoolTimeouts = poolTimeouts;
    }

    /// <summary>Gets the name of the factory (pool).</summary>
    /// <value>The data source's name (<c>SafeSqlDataSource.Name</c>, the name given to <c>AddSafeSql</c>).</value>
    public string PoolName { get; }

    /// <summary>Gets when the snapshot was taken, on the factory's <see cref="TimeProvider"/> clock.</summary>
    /// <value>A UTC point in time.</value>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Gets the number of connections opened through SafeSql and not yet closed or disposed.</summary>
    /// <value>Zero or more.</value>
    public int LeasedCount { get; }

    /// <summary>Gets the pool's capacity: <c>Max Pool Size</c> of the normalized connection string.</summary>
    /// <value>SqlClient's default is 100.</value>
    public int MaxPoolSize { get; }

    /// <summary>Gets a value indicating whether the connection string pools connections (<c>Pooling=true</c>).</summary>
    /// <value><see langword="true"/> unless the connection string turns pooling off.</value>
    public bool Pooling { get; }

    /// <summary>Gets the oldest lease held now.</summary>
    /// <value><see langword="null"/> when nothing is leased.</value>
    public SqlConnectionLease? OldestLease { get; }

    /// <summary>Gets the call sites holding the most leases now, most first (ties: oldest first); at most 5.</summary>
    /// <value>An empty list when nothing is leased.</value>
    public IReadOnlyList<SqlConnectionCallSiteUsage> TopCallSitesByCount { get; }

    /// <summary>Gets the call sites holding the oldest leases now, oldest first; at most 5.</summary>
    /// <value>An empty list when nothing is leased.</value>
    public IReadOnlyList<SqlConnectionCallSiteUsage> TopCallSitesByAge { get; }

    /// <summary>Gets the number of leaks detected since the factory was created (every kind except <see cref="SqlConnectionLeakKind.ReturnedAfterHeldTooLong"/>).</summary>
    /// <value>Zero or more.</value>
    public long LeaksDetected { get; }

    /// <summary>Gets when the last leak was detected.</summary>
    /// <value><see langword="null"/> when no leak has been detected.</value>
    public DateTimeOffset? LastLeakDetectedAt { get; }

    /// <summary>Gets the number of pool timeouts (every connection leased for longer than <c>Connect Timeout</c>) since the factory was created.</summary>
    /// <value>Zero or more.</value>
    public long PoolTimeouts { get; }
}

namespace SafeSql.Diagnostics;

/// <summary>What the observable instruments of the "SafeSql" meter read from one pool when a listener collects.</summary>
internal interface IPoolMeasurements
{
    /// <summary>Gets the pool's registered name: the value of <see cref="SafeSqlMetrics.PoolNameTag"/>.</summary>
    string PoolName { get; }

    /// <summary>Gets the number of connections leased now (<c>db.client.connection.count</c>, state <c>used</c>).</summary>
    int LeasedCount { get; }

    /// <summary>Gets Max Pool Size of the pool's connection string (<c>db.client.connection.max</c>).</summary>
    int MaxPoolSize { get; }
}

namespace SafeSql.Diagnostics;

/// <summary>What the observable instruments of the "SafeSql" meter read from one pool when a listener collects: each read is O(1).</summary>
internal interface IPoolMeasurements
{
    /// <summary>Gets the value of <see cref="SafeSqlMetrics.PoolNameTag"/>: the instance name, or for the default instance
    /// <c>server.address:server.port/db.namespace</c>; never empty.</summary>
    string TelemetryPoolName { get; }

    /// <summary>Gets the number of connections leased now (<c>db.client.connection.count</c>, state <c>used</c>).</summary>
    int LeasedCount { get; }

    /// <summary>Gets the number of opens through a data source that have not completed (<c>db.client.connection.pending_requests</c>).</summary>
    int PendingRequests { get; }

    /// <summary>Gets Max Pool Size of the pool's connection string (<c>db.client.connection.max</c>).</summary>
    int MaxPoolSize { get; }
}

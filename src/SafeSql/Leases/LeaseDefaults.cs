namespace SafeSql;

/// <summary>
/// Default values of lease tracking and leak detection, as constants so attributes and XML docs can use them.
/// </summary>
internal static class LeaseDefaults
{
    /// <summary>
    /// Default of <see cref="SqlConnectionLeakOptions.LeakDetectionThreshold"/>: 30 seconds, SqlClient's default
    /// <c>SqlCommand.CommandTimeout</c>. A lease held longer has outlived the budget SqlClient gives any single command.
    /// </summary>
    internal const int LeakDetectionThresholdSeconds = 30;

    /// <summary>Lowest accepted <see cref="SqlConnectionLeakOptions.LeakDetectionThreshold"/> (HikariCP's minimum, 2 s), as a <see cref="TimeSpan"/> string.</summary>
    internal const string MinLeakDetectionThreshold = "00:00:02";

    /// <summary>Highest accepted <see cref="SqlConnectionLeakOptions.LeakDetectionThreshold"/> (one day), as a <see cref="TimeSpan"/> string.</summary>
    internal const string MaxLeakDetectionThreshold = "1.00:00:00";

    /// <summary>How many call sites a pool snapshot lists, by lease count and by age.</summary>
    internal const int LeaseSnapshotTopCallSites = 5;

    /// <summary>How many call sites the pool-exhausted message names.</summary>
    internal const int PoolExhaustedMessageCallSites = 3;

    /// <summary>Share of Max Pool Size leased at which the health check reports Degraded (pool pressure).</summary>
    internal const double LeasePoolPressureRatio = 0.8;

    /// <summary>How long, in minutes, a detected leak keeps the health check Degraded.</summary>
    internal const int LeaseRecentLeakWindowMinutes = 5;

    /// <summary>The smallest generation of <see cref="PhysicalConnectionSet"/> (twice Max Pool Size when that is larger).</summary>
    internal const int MinPhysicalConnectionGeneration = 64;
}

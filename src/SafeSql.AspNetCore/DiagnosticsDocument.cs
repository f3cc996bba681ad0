namespace SafeSql.AspNetCore;

// The JSON the diagnostics endpoint serves, schema version 1 (docs/diagnostics.md documents every field). Adding a field
// keeps the version; renaming, removing or changing the meaning of one raises it.

/// <summary>The whole response: every SafeSql pool of the application.</summary>
internal sealed record DiagnosticsDocument(
    int SchemaVersion,
    DateTimeOffset GeneratedAt,
    string SafeSqlVersion,
    string SqlClientVersion,
    double WindowSeconds,
    double BucketSeconds,
    IReadOnlyList<PoolDocument> Pools);

/// <summary>One pool (one data source): never the connection string, only its server and database.</summary>
internal sealed record PoolDocument(
    string Name,
    string Server,
    string? Database,
    bool Pooling,
    int MaxPoolSize,
    int Leased,
    long? PendingOpens,
    bool Exhausted,
    double? LeakDetectionThresholdSeconds,
    IReadOnlyList<HolderDocument> Holders,
    OldestLeaseDocument? OldestLease,
    long LeaksDetected,
    DateTimeOffset? LastLeakDetectedAt,
    IReadOnlyList<LeakDocument> RecentLeaks,
    long PoolTimeouts,
    FailuresDocument Failures,
    IReadOnlyList<LeasedSampleDocument> LeasedHistory,
    HealthDocument? Health,
    TcpDocument? Tcp);

/// <summary>A call site holding leases now.</summary>
internal sealed record HolderDocument(string CallSite, string? File, int? Line, string? Member, int Leases, double OldestHeldForSeconds);

/// <summary>The oldest lease held now, with its stack when stack capture is on.</summary>
internal sealed record OldestLeaseDocument(string CallSite, DateTimeOffset OpenedAt, double HeldForSeconds, string? Stack);

/// <summary>One leak report.</summary>
internal sealed record LeakDocument(string Kind, DateTimeOffset DetectedAt, string CallSite, double HeldForSeconds, string Message);

/// <summary>Failed open attempts over the window: summed by kind, and per bucket.</summary>
internal sealed record FailuresDocument(IReadOnlyDictionary<string, long> ByKind, IReadOnlyList<FailureBucketDocument> Buckets);

/// <summary>The failed attempts of one bucket, by kind.</summary>
internal sealed record FailureBucketDocument(DateTimeOffset Start, IReadOnlyDictionary<string, long> ByKind);

/// <summary>The most connections seen leased in one bucket; <see langword="null"/> when none was sampled.</summary>
internal sealed record LeasedSampleDocument(DateTimeOffset Start, int? Leased);

/// <summary>The latest result of the pool's health check.</summary>
internal sealed record HealthDocument(string Check, string Status, string? Description, DateTimeOffset CheckedAt);

/// <summary>The OS TCP picture towards the pool's server.</summary>
internal sealed record TcpDocument(
    string Source,
    string? ServerEndPoint,
    int PortsInUse,
    int EphemeralPortCount,
    int? ConnectionsTowardsServer,
    int TimeWaitTotal,
    int? TimeWaitTowardsServer,
    bool IndicatesExhaustion,
    DateTimeOffset CapturedAt);

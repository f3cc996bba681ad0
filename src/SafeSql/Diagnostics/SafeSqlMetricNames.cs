namespace SafeSql.Diagnostics;

/// <summary>
/// The names of the instruments of SafeSql's meter (<see cref="SafeSqlTelemetry.MeterName"/>), for metric views and
/// <c>MetricCollector</c> in tests.
/// </summary>
/// <remarks>
/// Names follow OpenTelemetry's semantic conventions for database client metrics (<c>db.client.connection.*</c>,
/// opentelemetry.io/docs/specs/semconv/database/database-metrics) where one exists; SafeSql's own live under
/// <c>db.client.connection.safesql.*</c>. Every measurement is tagged <c>db.client.connection.pool.name</c> with the data
/// source's name. Polly's <c>resilience.polly.*</c> instruments of the open pipeline are on Polly's meter, "Polly".
/// </remarks>
public static class SafeSqlMetricNames
{
    /// <summary>
    /// <c>db.client.connection.count</c> (observable up-down counter, <c>{connection}</c>): the connections opened through
    /// SafeSql and not yet closed or disposed, tagged <c>db.client.connection.state</c> = <c>used</c>.
    /// </summary>
    public const string ConnectionCount = "db.client.connection.count";

    /// <summary><c>db.client.connection.max</c> (observable up-down counter, <c>{connection}</c>): <c>Max Pool Size</c> of the normalized connection string.</summary>
    public const string ConnectionMax = "db.client.connection.max";

    /// <summary><c>db.client.connection.use_time</c> (histogram, seconds): how long each connection was held, from the open to the close or dispose.</summary>
    public const string ConnectionUseTime = "db.client.connection.use_time";

    /// <summary><c>db.client.connection.timeouts</c> (counter, <c>{timeout}</c>): opens that waited <c>Connect Timeout</c> for a free pooled connection and failed.</summary>
    public const string ConnectionTimeouts = "db.client.connection.timeouts";

    /// <summary><c>db.client.connection.pending_requests</c>: opens through a data source that have not completed yet.</summary>
    public const string ConnectionPendingRequests = "db.client.connection.pending_requests";

    /// <summary><c>db.client.connection.create_time</c>: the time an open took when it made a new physical connection, in seconds.</summary>
    public const string ConnectionCreateTime = "db.client.connection.create_time";

    /// <summary><c>db.client.connection.wait_time</c>: the time an open took to obtain a connection, retries included, in seconds.</summary>
    public const string ConnectionWaitTime = "db.client.connection.wait_time";

    /// <summary>
    /// <c>db.client.connection.safesql.leaks</c> (counter, <c>{leak}</c>): the leaks SafeSql detected, tagged
    /// <c>safesql.leak.kind</c> (<c>not_disposed_before_scope_end</c>, <c>collected_without_dispose</c>, <c>held_too_long</c>).
    /// </summary>
    public const string Leaks = "db.client.connection.safesql.leaks";

    /// <summary>
    /// <c>db.client.connection.safesql.failures</c> (counter, <c>{failure}</c>): the failed attempts to open a connection,
    /// tagged <c>safesql.failure.kind</c> and <c>error.type</c>.
    /// </summary>
    public const string Failures = "db.client.connection.safesql.failures";

    /// <summary>
    /// <c>db.client.connection.safesql.circuit_breaker.transitions</c> (counter, <c>{transition}</c>): the times a data
    /// source's circuit breaker opened or closed, tagged <c>safesql.circuit_breaker.state</c> (the state entered).
    /// </summary>
    public const string CircuitBreakerTransitions = "db.client.connection.safesql.circuit_breaker.transitions";
}

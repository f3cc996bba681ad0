using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SafeSql.Diagnostics;

/// <summary>The failure instruments of the "SafeSql" meter: failed open attempts by failure kind.</summary>
internal sealed partial class SafeSqlMetrics
{
    /// <summary>SafeSql attribute of the failure counter (and of Polly's <c>resilience.polly.*</c> for SafeSql's pipelines): the failure kind in snake case.</summary>
    internal const string FailureKindTag = "safesql.failure.kind";

    /// <summary>OpenTelemetry's <c>error.type</c>: the SQL error number, or the exception's type name when there is none.</summary>
    internal const string ErrorTypeTag = "error.type";

    /// <summary>SafeSql attribute of the transition counter: the state the breaker entered (<c>open</c>, <c>closed</c>).</summary>
    internal const string CircuitStateTag = "safesql.circuit_breaker.state";

    private readonly object _failuresGate = new();
    private Counter<long>? _failures;
    private Counter<long>? _circuitTransitions;

    /// <summary>Counts one transition of a data source's circuit breaker into <paramref name="state"/>.</summary>
    internal void RecordCircuitTransition(string poolName, string state)
    {
        var counter = _circuitTransitions ?? CreateCircuitTransitionsCounter();
        counter.Add(1, PoolTag(poolName), SystemTag, new KeyValuePair<string, object?>(CircuitStateTag, state));
    }

    private Counter<long> CreateCircuitTransitionsCounter()
    {
        lock (_failuresGate)
        {
            return _circuitTransitions ??= _meter.CreateCounter<long>(
                SafeSqlMetricNames.CircuitBreakerTransitions,
                unit: "{transition}",
                description: "The number of times a data source's circuit breaker opened (the server was seen unavailable) or closed (it answered again), by state entered.");
        }
    }

    /// <summary>
    /// Counts one failed attempt, tagged with the pool name (<see cref="PoolNameTag"/>, as the lease instruments), the kind and
    /// the error type.
    /// </summary>
    internal void RecordFailure(string poolName, string failureKindTagValue, string errorTypeTagValue)
    {
        var counter = _failures ?? CreateFailuresCounter();
        if (!counter.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            PoolTag(poolName),
            SystemTag,
            { FailureKindTag, failureKindTagValue },
            { ErrorTypeTag, errorTypeTagValue },
        };
        counter.Add(1, in tags);
    }

    private Counter<long> CreateFailuresCounter()
    {
        lock (_failuresGate)
        {
            return _failures ??= _meter.CreateCounter<long>(
                SafeSqlMetricNames.Failures,
                unit: "{failure}",
                description: "The number of failed attempts to open a connection, by SafeSql's failure kind (pool_timeout, socket_exhaustion, connection_refused, connect_timeout, ...).");
        }
    }
}

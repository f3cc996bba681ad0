using Polly.Telemetry;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>
/// Adds SafeSql's classification to Polly's metrics (<c>resilience.polly.*</c>, meter "Polly") for every event of a SafeSql
/// retry strategy that carries a failure: <c>safesql.failure.kind</c> (the <see cref="SqlFailureKind"/> in snake case, as on
/// <c>db.client.connection.safesql.failures</c>) and OpenTelemetry's <c>error.type</c> (the <c>SqlException.Number</c>, or the
/// exception's type name when there is none).
/// </summary>
/// <remarks>
/// The data source's own open pipeline has it. For a pipeline of yours with <see cref="SqlRetryStrategyOptions"/>, add it to
/// Polly's telemetry: <c>var telemetry = new TelemetryOptions { LoggerFactory = loggerFactory };
/// telemetry.MeteringEnrichers.Add(SqlFailureMeteringEnricher.Instance); builder.ConfigureTelemetry(telemetry);</c>. Events
/// without a classified failure (a success, an attempt of another strategy) get no tags from it.
/// </remarks>
public sealed class SqlFailureMeteringEnricher : MeteringEnricher
{
    private SqlFailureMeteringEnricher()
    {
    }

    /// <summary>Gets the enricher (it holds no state).</summary>
    public static SqlFailureMeteringEnricher Instance { get; } = new();

    /// <summary>Adds the failure kind and the error type of the event's classified failure, if it has one.</summary>
    /// <typeparam name="TResult">The type of the result.</typeparam>
    /// <typeparam name="TArgs">The type of the event's arguments.</typeparam>
    /// <param name="context">Polly's enrichment context.</param>
    public override void Enrich<TResult, TArgs>(in EnrichmentContext<TResult, TArgs> context)
    {
        var telemetryEvent = context.TelemetryEvent;

        // Only an event whose outcome is the failure classified for this attempt: after a retry succeeds, the context still
        // holds the previous attempt's failure.
        if (telemetryEvent.Outcome?.Exception is null
            || !telemetryEvent.Context.Properties.TryGetValue(SqlRetryPolicy.FailureKey, out var failure)
            || failure is null
            || !IsOrWraps(telemetryEvent.Outcome.Value.Exception, failure.Exception))
        {
            return;
        }

        context.Tags.Add(new(SafeSqlMetrics.FailureKindTag, FailureKindTagValue.Of(failure.Kind)));
        context.Tags.Add(new(SafeSqlMetrics.ErrorTypeTag, FailureKindTagValue.ErrorTypeOf(failure)));
    }

    /// <summary>Whether <paramref name="classified"/> (the exception the classifier decided on) is <paramref name="outcome"/> or one of its inner exceptions.</summary>
    private static bool IsOrWraps(Exception outcome, Exception? classified)
    {
        for (var current = outcome; current is not null; current = current.InnerException)
        {
            if (ReferenceEquals(current, classified))
            {
                return true;
            }
        }

        return false;
    }
}

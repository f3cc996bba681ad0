using Microsoft.Extensions.Logging;

using Polly;
using Polly.Telemetry;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>The data source's open pipeline: classification-driven retries built from <see cref="SafeSqlOptions.OpenRetry"/>.</summary>
public sealed partial class SafeSqlDataSource
{
    /// <summary>The logger category of classification and retry messages (event ids 3000-3999).</summary>
    internal const string ClassificationLoggerCategory = "SafeSql.Classification";

    private SqlRetryPolicy? _openRetryPolicy;
    private ILogger _classificationLogger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>Gets the policy behind the open pipeline (tests pin its jitter).</summary>
    internal SqlRetryPolicy OpenRetryPolicy => _openRetryPolicy ?? throw new InvalidOperationException("The open pipeline has not been created.");

    /// <summary>
    /// Builds the open pipeline: a Polly pipeline named "SafeSql" (instance name = the options name) on the data source's
    /// <see cref="TimeProvider"/>, with the circuit breaker (<see cref="SafeSqlOptions.CircuitBreaker"/>) outside one retry strategy from <see cref="SafeSqlOptions.OpenRetry"/> whose decisions come from
    /// <see cref="SqlFailureClassifier"/>, and Polly's telemetry (<c>resilience.polly.*</c>, the "Polly" meter and log
    /// category) enriched with the failure kind. Every failed attempt is classified, logged (3000-3003) and counted
    /// (<c>db.client.connection.safesql.failures</c>), even when retries are off.
    /// </summary>
    private ResiliencePipeline CreateOpenPipeline(string dataSource)
    {
        var options = Options.OpenRetry;
        _classificationLogger = _loggerFactory.CreateLogger(ClassificationLoggerCategory);
        var observer = new OpenRetryObserver(this, _classificationLogger, options?.MaxRetryAttempts ?? 0);
        var effective = options ?? new SqlRetryStrategyOptions();
        _openRetryPolicy = new SqlRetryPolicy(effective, SqlOperationPhase.Open, _connectionString, observer, retriesDisabled: options is null, openConnections: () => Tracker.LeasedCount);
        // SafeSql logs each failed attempt once, explained (3000-3005): Polly's own events on this pipeline log at Debug, so a
        // failure is not logged again as Polly's "Execution attempt" and "OnRetry" Warnings; its metrics are unchanged.
        var telemetry = new TelemetryOptions { LoggerFactory = _loggerFactory, SeverityProvider = static _ => ResilienceEventSeverity.Debug };
        telemetry.MeteringEnrichers.Add(SqlFailureMeteringEnricher.Instance);
        var builder = new ResiliencePipelineBuilder
        {
            Name = RetryDefaults.PipelineName,
            InstanceName = Name,
            TimeProvider = TimeProvider,
        };
        AddCircuitBreaker(builder, dataSource);
        return builder
            .AddSqlRetry(effective, _openRetryPolicy)
            .ConfigureTelemetry(telemetry)
            .Build();
    }

    private sealed class OpenRetryObserver(SafeSqlDataSource factory, ILogger logger, int maxRetryAttempts) : ISqlRetryObserver
    {
        private readonly string _poolDisplayName = PoolDisplayName.Of(factory.Name);

        public void OnFailure(SqlFailure failure, int attemptNumber, bool willRetry, string? reason)
        {
            factory.OnOpenAttemptFailedTelemetry(failure, attemptNumber, willRetry);
            if (failure.Exception is SqlConnectionPoolExhaustedException)
            {
                // Already logged (1002, naming the holders) and counted (db.client.connection.timeouts) where it was detected.
                return;
            }

            factory.Metrics.RecordFailure(factory.Telemetry.PoolName, FailureKindTagValue.Of(failure.Kind), FailureKindTagValue.ErrorTypeOf(failure));
            DataSourceLog.OpenAttemptFailed(logger, _poolDisplayName, attemptNumber + 1, failure.Kind, failure.SqlErrorNumber, failure.SocketError, willRetry, failure.Explanation, failure.Exception);
            if (failure.Kind == SqlFailureKind.SocketExhaustion && failure.TcpSnapshot is { } snapshot)
            {
                DataSourceLog.SocketExhaustionDetected(
                    logger,
                    snapshot.RemoteEndPoint is { } endPoint ? SafeSqlTcpSnapshot.Describe(endPoint) : "the server",
                    _poolDisplayName,
                    snapshot.PortsInUse,
                    snapshot.EphemeralPortCount,
                    snapshot.TimeWaitTowardsEndPoint ?? snapshot.TimeWaitTotal);
            }

            if (!willRetry)
            {
                DataSourceLog.OpenFailed(logger, _poolDisplayName, failure.Kind, attemptNumber + 1, reason ?? "retries exhausted");
            }
        }

        public void OnRetry(SqlFailure failure, int attemptNumber, TimeSpan delay)
        {
            factory.OnOpenRetryingTelemetry(failure, attemptNumber, delay);
            DataSourceLog.OpenRetrying(logger, _poolDisplayName, failure.Kind, (long)delay.TotalMilliseconds, attemptNumber + 1, maxRetryAttempts);
        }
    }
}

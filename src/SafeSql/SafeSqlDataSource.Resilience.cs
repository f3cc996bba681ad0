using Microsoft.Extensions.Logging;

using Polly;

using SafeSql.Classification;
using SafeSql.Diagnostics;
using SafeSql.Resilience;

namespace SafeSql;

/// <summary>The data source's open pipeline: classification-driven retries built from <see cref="SafeSqlOptions.OpenRetry"/>.</summary>
public sealed partial class SafeSqlDataSource
{
    /// <summary>The logger category of classification and retry messages (event ids 3000-3999).</summary>
    internal const string ClassificationLoggerCategory = "SafeSql.Classification";

    private SqlRetryPolicy? _openRetryPolicy;

    /// <summary>Gets the policy behind the open pipeline (tests pin its jitter).</summary>
    internal SqlRetryPolicy OpenRetryPolicy => _openRetryPolicy ?? throw new InvalidOperationException("The open pipeline has not been created.");

    /// <summary>
    /// Builds the open pipeline: a Polly pipeline named "SafeSql" (instance name = the options name, so Polly's telemetry
    /// attributes the retries) on the factory's <see cref="TimeProvider"/>, with one retry strategy driven by
    /// <see cref="SqlFailureClassifier"/> and <see cref="SafeSqlOptions.OpenRetry"/>. Every failed attempt is classified,
    /// logged (3000-3003) and counted (<c>db.client.connection.safesql.failures</c>), even when retries are disabled.
    /// </summary>
    private ResiliencePipeline CreateOpenPipeline()
    {
        var observer = new OpenRetryObserver(this, LoggerFactory.CreateLogger(ClassificationLoggerCategory));
        _openRetryPolicy = new SqlRetryPolicy(Options.OpenRetry ?? new SqlOpenRetryOptions(), isOpen: true, _connectionString, observer);
        return new ResiliencePipelineBuilder
        {
            Name = SafeSqlDefaults.PipelineName,
            InstanceName = Name,
            TimeProvider = TimeProvider,
        }
        .AddSqlRetry(_openRetryPolicy)
        .Build();
    }

    private sealed class OpenRetryObserver(SafeSqlDataSource factory, ILogger logger) : ISqlRetryObserver
    {
        private readonly int _maxRetryAttempts = factory.Options.OpenRetry?.MaxRetryAttempts ?? SafeSqlDefaults.OpenMaxRetryAttempts;
        private readonly string _poolDisplayName = PoolDisplayName.Of(factory.Name);

        public void OnFailure(SqlFailure failure, int attemptNumber, bool willRetry, string? reason)
        {
            factory.Metrics.RecordFailure(factory.Name, failure); // the metric tag keeps the registered name (see PoolDisplayName)
            Log.OpenAttemptFailed(logger, _poolDisplayName, attemptNumber + 1, failure.Kind, failure.SqlErrorNumber, failure.SocketError, willRetry, failure.Explanation, failure.Exception);
            if (failure.Kind == SqlFailureKind.SocketExhaustion && failure.TcpSnapshot is { } snapshot)
            {
                Log.SocketExhaustionDetected(
                    logger,
                    snapshot.RemoteEndPoint is { } endPoint ? OsTcpSnapshot.Describe(endPoint) : "the server",
                    _poolDisplayName,
                    snapshot.PortsInUse,
                    snapshot.EphemeralPortCount,
                    snapshot.TimeWaitTowardsEndPoint ?? snapshot.TimeWaitTotal);
            }

            if (!willRetry)
            {
                Log.OpenFailed(logger, _poolDisplayName, failure.Kind, attemptNumber + 1, reason ?? "retries exhausted");
            }
        }

        public void OnRetry(SqlFailure failure, int attemptNumber, TimeSpan delay) =>
            Log.OpenRetrying(logger, _poolDisplayName, failure.Kind, (long)delay.TotalMilliseconds, attemptNumber + 1, _maxRetryAttempts);
    }
}

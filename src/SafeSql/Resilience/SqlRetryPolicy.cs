using Microsoft.Data.SqlClient;

using Polly;
using Polly.Retry;

using SafeSql.ConnectionStrings;

namespace SafeSql;

/// <summary>
/// SafeSql's decision for one retry pipeline: <c>ShouldHandle</c> and <c>DelayGenerator</c> from
/// <see cref="SqlFailureClassifier"/> and the live values of a <see cref="SqlRetryStrategyOptions"/>, with what the pipeline
/// knows besides the exception (the operation's phase, the server, whether SqlClient's pool blocking period applies).
/// </summary>
internal sealed class SqlRetryPolicy
{
    /// <summary>The classification of the current attempt, shared by ShouldHandle, DelayGenerator, OnRetry and the telemetry enricher.</summary>
    internal static readonly ResiliencePropertyKey<SqlFailure?> FailureKey = new("SafeSql.SqlFailure");

    /// <summary>
    /// Set by a caller that runs the pipeline synchronously (Polly's <c>Execute</c>): the classification then runs on the
    /// caller's thread instead of awaiting shared evidence (<c>ResilienceContext.IsSynchronous</c> is not public).
    /// </summary>
    internal static readonly ResiliencePropertyKey<bool> SynchronousKey = new("SafeSql.Synchronous");

    /// <summary>The end of the open's time budget, set by the data source: no retry starts once it has passed.</summary>
    internal static readonly ResiliencePropertyKey<SqlOpenDeadline?> DeadlineKey = new("SafeSql.Deadline");

    private static readonly ResiliencePropertyKey<int> s_longDelayRetriesKey = new("SafeSql.LongDelayRetries");

    private const string RetriesDisabledReason = "retries are disabled (OpenRetry is null)";

    private static readonly ResiliencePropertyKey<int> s_poolTimeoutRetriesKey = new("SafeSql.PoolTimeoutRetries");

    private readonly SqlRetryStrategyOptions _options;
    private readonly SqlOperationPhase _phase;
    private readonly bool _retriesDisabled;
    private readonly bool _poolBlocking;
    private readonly SqlClassificationContext _context;

    /// <param name="options">The options whose values are read at each decision.</param>
    /// <param name="phase"><see cref="SqlOperationPhase.Open"/> for a delegate that only opens (always idempotent).</param>
    /// <param name="connectionString">The connection string the operation uses, or <see langword="null"/> (SqlClient's defaults assumed).</param>
    /// <param name="observer">Told about every classified failure and retry (the data source logs and counts them).</param>
    /// <param name="evidence">Where the OS evidence comes from (tests substitute it).</param>
    /// <param name="retriesDisabled">Classify and observe every failure, retry none (the data source without <c>OpenRetry</c>).</param>
    /// <param name="openConnections">How many connections the caller's pool holds open to the server now (evidence of a server that accepts), or <see langword="null"/>.</param>
    internal SqlRetryPolicy(
        SqlRetryStrategyOptions options,
        SqlOperationPhase phase,
        string? connectionString,
        ISqlRetryObserver? observer = null,
        ITcpEvidenceSource? evidence = null,
        bool retriesDisabled = false,
        Func<int>? openConnections = null)
    {
        _options = options;
        _phase = phase;
        _retriesDisabled = retriesDisabled;
        var builder = ParseConnectionString(connectionString);
        _poolBlocking = SqlPoolBlockingPeriod.IsActive(builder);
        var dataSource = builder?.DataSource;
        _context = new SqlClassificationContext(phase, dataSource, null, evidence ?? OsTcpEvidenceSource.Shared, new SqlEndPointResolver(dataSource), openConnections);
        Observer = observer;
    }

    /// <summary>
    /// The message of the <see cref="ArgumentException"/> thrown for a connection string <c>SqlConnectionStringBuilder</c>
    /// rejects. Fixed text: SqlClient's own message quotes the offending keyword, which can be part of an unquoted password.
    /// </summary>
    internal const string UnparsableConnectionStringMessage =
        "The connection string cannot be parsed by SqlConnectionStringBuilder (a value containing ';' or '=' must be quoted). "
        + "SqlClient's message is not shown because it can quote part of a password. "
        + "Run SqlConnectionStringPolicy.Validate on the connection string for the rule that fails.";

    internal ISqlRetryObserver? Observer { get; }

    /// <summary>Gets a value indicating whether failed opens start SqlClient's pool blocking period for this connection string.</summary>
    internal bool PoolBlocking => _poolBlocking;

    /// <summary>Where this pipeline's operation is when it fails: an open never sent anything; an opaque delegate is not known.</summary>
    private SqlFailurePoint Point => _phase == SqlOperationPhase.Open ? SqlFailurePoint.BeforeSending : SqlFailurePoint.Unknown;

    /// <summary>
    /// Polly's <c>ShouldHandle</c>: classifies the exception, remembers the failure in the context, tells the observer. The
    /// exception alone decides synchronously; when operating-system evidence is needed, an asynchronous run awaits the evidence
    /// shared by every concurrent failure towards the server (no thread blocked), and a synchronous run
    /// (<see cref="SynchronousKey"/>) gathers it on the caller's thread.
    /// </summary>
    internal ValueTask<bool> ShouldHandleAsync<TResult>(RetryPredicateArguments<TResult> args)
    {
        var exception = args.Outcome.Exception;
        if (exception is null)
        {
            return new ValueTask<bool>(false);
        }

        // The caller canceled: not a failure of the server or the network. Polly asks the predicate before it checks the
        // token, so without this a client-aborted open would be logged and counted as an Unknown failure.
        var context = args.Context;
        if (exception is OperationCanceledException && context.CancellationToken.IsCancellationRequested)
        {
            return new ValueTask<bool>(false);
        }

        if (context.Properties.GetValue(SynchronousKey, false))
        {
            return new ValueTask<bool>(Decide(Classify(exception), Point, context, args.AttemptNumber));
        }

        // Completes synchronously (no allocation) when the exception alone decides.
        // Not canceled with the run: the evidence is bounded and shared (500 ms), and a failure the caller's budget or token ends
        // the run after is still classified, logged, counted and seen by the circuit breaker.
        return DecideAsync(SqlFailureClassifier.ClassifyAsync(exception, _context, CancellationToken.None), context, args.AttemptNumber);
    }

    /// <summary>
    /// Polly's <c>DelayGenerator</c>: <see cref="SqlRetryStrategyOptions.SocketExhaustionDelay"/> for the long-delay kind, at
    /// least SqlClient's pool blocking period after a failed open when it applies, otherwise <see langword="null"/>: Polly's own
    /// backoff (<c>Delay</c>, <c>BackoffType</c>, <c>UseJitter</c>, <c>MaxDelay</c>).
    /// </summary>
    internal async ValueTask<TimeSpan?> GenerateDelayAsync<TResult>(RetryDelayGeneratorArguments<TResult> args)
    {
        var failure = args.Context.Properties.GetValue(FailureKey, null);
        if (failure is null && args.Outcome.Exception is { } exception)
        {
            failure = await SqlFailureClassifier.ClassifyAsync(exception, _context, CancellationToken.None).ConfigureAwait(false);
        }

        return failure is null ? null : GetDelay(failure, args.AttemptNumber);
    }

    /// <summary>Classifies a failure of this pipeline's operation on the caller's thread, with what the pipeline knows of the server and the phase.</summary>
    internal SqlFailure Classify(Exception exception) => SqlFailureClassifier.Classify(exception, _context);

    private async ValueTask<bool> DecideAsync(ValueTask<SqlFailure> classification, ResilienceContext context, int attemptNumber) =>
        Decide(await classification.ConfigureAwait(false), Point, context, attemptNumber);

    /// <summary>Remembers the failure in the context, decides whether it is retried and tells the observer.</summary>
    private bool Decide(SqlFailure failure, SqlFailurePoint point, ResilienceContext context, int attemptNumber)
    {
        context.Properties.Set(FailureKey, failure);
        var longDelayRetries = context.Properties.GetValue(s_longDelayRetriesKey, 0);
        var poolTimeoutRetries = context.Properties.GetValue(s_poolTimeoutRetriesKey, 0);
        var earlier = failure.Kind == SqlFailureKind.PoolTimeout ? poolTimeoutRetries : longDelayRetries;
        var reason = _retriesDisabled ? RetriesDisabledReason : _options.Decide(failure, point, attemptNumber, earlier).ReasonNotToRetry;
        if (reason is null && context.Properties.GetValue(DeadlineKey, null) is { } deadline)
        {
            reason = deadline.ReasonNotToRetry;
        }

        if (reason is null && _options.BehaviorOf(failure.Kind, point) == SqlRetryBehavior.RetryOnceAfterLongDelay)
        {
            context.Properties.Set(s_longDelayRetriesKey, longDelayRetries + 1);
        }

        if (reason is null && failure.Kind == SqlFailureKind.PoolTimeout)
        {
            context.Properties.Set(s_poolTimeoutRetriesKey, poolTimeoutRetries + 1);
        }

        Observer?.OnFailure(failure, attemptNumber, reason is null, reason);
        return reason is null;
    }

    /// <summary>Polly's <c>OnRetry</c> for a pipeline SafeSql builds: tells the observer about the wait.</summary>
    internal void OnRetry(ResilienceContext context, int attemptNumber, TimeSpan delay)
    {
        if (Observer is not null && context.Properties.GetValue(FailureKey, null) is { } failure)
        {
            Observer.OnRetry(failure, attemptNumber, delay);
        }
    }

    /// <summary>
    /// The delay before the retry after attempt <paramref name="attemptNumber"/> (0-based), or <see langword="null"/> for
    /// Polly's own backoff.
    /// </summary>
    internal TimeSpan? GetDelay(SqlFailure failure, int attemptNumber)
    {
        if (_options.BehaviorOf(failure.Kind, Point) == SqlRetryBehavior.RetryOnceAfterLongDelay)
        {
            return _options.Jitter(_options.SocketExhaustionDelay, 0.8, 0.4);
        }

        // A failed open puts the pool into its blocking period; retrying inside it fails at once without reaching the server.
        if (_poolBlocking && !failure.MayHaveExecuted && failure.Kind != SqlFailureKind.PoolTimeout)
        {
            var floor = _options.Jitter(SqlPoolBlockingPeriod.After(attemptNumber), 1.02, 0.08);
            if (floor > _options.MedianBackoff(attemptNumber))
            {
                return floor;
            }
        }

        return null;
    }

    /// <summary>
    /// Reads the connection string once through SafeSql's front door (<see cref="SqlConnectionStringParser"/>), or returns
    /// <see langword="null"/> for <see langword="null"/>. Throws an <see cref="ArgumentException"/> with
    /// <see cref="UnparsableConnectionStringMessage"/> (no inner exception, nothing of the connection string) whenever
    /// SqlConnectionStringBuilder refuses it, whichever exception SqlClient throws (ArgumentException, FormatException,
    /// OverflowException, NotSupportedException...).
    /// </summary>
    private static SqlConnectionStringBuilder? ParseConnectionString(string? connectionString)
    {
        if (connectionString is null)
        {
            return null;
        }

        // Not chained: SqlClient's exception ("Keyword not supported: 'cd'", "String 'x' was not recognized as a valid
        // Boolean.") can hold a fragment of the password.
        return SqlConnectionStringParser.Parse(connectionString).ReadWithSqlClient()
            ?? throw new ArgumentException(UnparsableConnectionStringMessage, nameof(connectionString));
    }
}

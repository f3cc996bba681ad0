using Microsoft.Data.SqlClient;

using Polly;
using Polly.Retry;

using SafeSql.Classification;
using SafeSql.ConnectionStrings;

namespace SafeSql.Resilience;

/// <summary>
/// Turns <see cref="SqlOpenRetryOptions"/> / <see cref="SqlRetryStrategyOptions"/> into Polly retry options whose
/// <c>ShouldHandle</c> and <c>DelayGenerator</c> come from <see cref="SqlFailureClassifier"/>. The option values are copied
/// when the policy is created.
/// </summary>
internal sealed class SqlRetryPolicy
{
    /// <summary>The classification of the current attempt, shared by ShouldHandle, DelayGenerator and OnRetry.</summary>
    internal static readonly ResiliencePropertyKey<SqlFailure?> FailureKey = new("SafeSql.SqlFailure");

    private static readonly ResiliencePropertyKey<int> s_longDelayRetriesKey = new("SafeSql.LongDelayRetries");

    private readonly bool _enabled;
    private readonly int _maxRetryAttempts;
    private readonly TimeSpan _baseDelay;
    private readonly TimeSpan _maxDelay;
    private readonly TimeSpan _socketExhaustionDelay;
    private readonly SqlRetryBehavior[] _behaviors;
    private readonly bool _isOpen;
    private readonly bool _isIdempotent;
    private readonly bool _poolBlocking;
    private readonly string _name;
    private readonly SqlClassificationContext _context;

    internal SqlRetryPolicy(SqlOpenRetryOptions options, bool isOpen, string? connectionString, ISqlRetryObserver? observer = null, ITcpEvidenceSource? evidence = null)
    {
        _enabled = options.Enabled;
        _maxRetryAttempts = options.MaxRetryAttempts;
        _baseDelay = options.BaseDelay;
        _maxDelay = options.MaxDelay < options.BaseDelay ? options.BaseDelay : options.MaxDelay;
        _socketExhaustionDelay = options.SocketExhaustionDelay;
        _isOpen = isOpen;
        var strategy = options as SqlRetryStrategyOptions;
        _isIdempotent = isOpen || strategy?.IsIdempotent == true;
        _name = isOpen ? SafeSqlDefaults.OpenRetryStrategyName : strategy?.Name ?? SafeSqlDefaults.RetryStrategyName;

        _behaviors = new SqlRetryBehavior[(int)SqlFailureKind.EncryptionFailure + 1];
        _behaviors[(int)SqlFailureKind.ConnectionRefused] = options.ConnectionRefused;
        _behaviors[(int)SqlFailureKind.ConnectTimeout] = options.ConnectTimeout;
        _behaviors[(int)SqlFailureKind.ConnectionBroken] = options.ConnectionBroken;
        _behaviors[(int)SqlFailureKind.TransientServerError] = options.TransientServerError;
        _behaviors[(int)SqlFailureKind.NetworkUnreachable] = options.NetworkUnreachable;
        _behaviors[(int)SqlFailureKind.SocketExhaustion] = options.SocketExhaustion;
        _behaviors[(int)SqlFailureKind.CommandTimeout] = !isOpen && _isIdempotent ? strategy!.CommandTimeout : SqlRetryBehavior.DoNotRetry;

        var builder = ParseConnectionString(connectionString);
        _poolBlocking = SqlPoolBlockingPeriod.IsActive(builder);
        var dataSource = builder?.DataSource;
        _context = new SqlClassificationContext(
            isOpen ? SqlOperationPhase.Open : SqlOperationPhase.Unknown,
            dataSource,
            null,
            evidence ?? OsTcpEvidenceSource.Shared,
            new SqlEndPointResolver(dataSource));
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

    /// <summary>Gets or sets the source of jitter, a value in [0, 1) (tests pin it).</summary>
    internal Func<double> Randomizer { get; set; } = static () => Random.Shared.NextDouble();

    internal ISqlRetryObserver? Observer { get; }

    /// <summary>Gets a value indicating whether failed opens start SqlClient's pool blocking period for this connection string.</summary>
    internal bool PoolBlocking => _poolBlocking;

    internal RetryStrategyOptions<TResult> CreateRetryOptions<TResult>()
    {
        var options = new RetryStrategyOptions<TResult>();
        Configure(options);
        return options;
    }

    internal RetryStrategyOptions CreateRetryOptions()
    {
        var options = new RetryStrategyOptions();
        Configure(options);
        return options;
    }

    /// <summary>Decides whether a classified failure is retried; returns the reason when it is not.</summary>
    internal string? GetReasonNotToRetry(SqlFailure failure, int longDelayRetries)
    {
        if (!_enabled)
        {
            return "retries are disabled (OpenRetry.Enabled is false)";
        }

        var behavior = _behaviors[(int)failure.Kind];
        if (behavior == SqlRetryBehavior.DoNotRetry)
        {
            return failure.Kind switch
            {
                SqlFailureKind.PoolTimeout or SqlFailureKind.AuthenticationFailure or SqlFailureKind.EncryptionFailure or SqlFailureKind.Permanent or SqlFailureKind.Unknown =>
                    $"{failure.Kind} is never retried",
                SqlFailureKind.CommandTimeout when !_isIdempotent => "a command timeout may have executed and the operation is not marked idempotent",
                _ => $"{failure.Kind} is configured DoNotRetry",
            };
        }

        if (!failure.IsTransient && failure.Kind != SqlFailureKind.CommandTimeout)
        {
            return "the failure is not transient";
        }

        if (failure.MayHaveExecuted && !_isIdempotent)
        {
            return "the request may have executed and the operation is not marked idempotent";
        }

        if (behavior == SqlRetryBehavior.RetryOnceAfterLongDelay && longDelayRetries >= 1)
        {
            return $"{failure.Kind} is retried only once";
        }

        return null;
    }

    /// <summary>The delay before retry <paramref name="attemptNumber"/> + 1 (0-based attempt that failed).</summary>
    internal TimeSpan GetDelay(SqlFailure failure, int attemptNumber)
    {
        TimeSpan delay;
        if (_behaviors[(int)failure.Kind] == SqlRetryBehavior.RetryOnceAfterLongDelay)
        {
            delay = Jitter(_socketExhaustionDelay);
        }
        else
        {
            var exponential = _baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attemptNumber, 30));
            delay = TimeSpan.FromMilliseconds(Math.Min(exponential * (0.8 + (0.4 * Randomizer())), _maxDelay.TotalMilliseconds));
        }

        // A failed open puts the pool into its blocking period; retrying inside it fails at once without reaching the server.
        if (_poolBlocking && !failure.MayHaveExecuted && failure.Kind != SqlFailureKind.PoolTimeout)
        {
            var floor = SqlPoolBlockingPeriod.After(attemptNumber);
            var spread = TimeSpan.FromMilliseconds(floor.TotalMilliseconds * (1.02 + (0.08 * Randomizer())));
            if (delay < spread)
            {
                delay = spread;
            }
        }

        return delay;
    }

    private void Configure<TResult>(RetryStrategyOptions<TResult> options)
    {
        options.Name = _name;
        options.MaxRetryAttempts = _maxRetryAttempts;
        options.BackoffType = DelayBackoffType.Exponential;
        options.UseJitter = true;
        options.Delay = _baseDelay;
        options.MaxDelay = _maxDelay;
        options.ShouldHandle = ShouldHandleAsync;
        options.DelayGenerator = args =>
        {
            var failure = args.Context.Properties.GetValue(FailureKey, null)
                ?? SqlFailureClassifier.Classify(args.Outcome.Exception!, _context);
            return new ValueTask<TimeSpan?>(GetDelay(failure, args.AttemptNumber));
        };
        options.OnRetry = args =>
        {
            if (args.Context.Properties.GetValue(FailureKey, null) is { } failure)
            {
                if (_behaviors[(int)failure.Kind] == SqlRetryBehavior.RetryOnceAfterLongDelay)
                {
                    args.Context.Properties.Set(s_longDelayRetriesKey, args.Context.Properties.GetValue(s_longDelayRetriesKey, 0) + 1);
                }

                Observer?.OnRetry(failure, args.AttemptNumber, args.RetryDelay);
            }

            return default;
        };
    }

    private ValueTask<bool> ShouldHandleAsync<TResult>(RetryPredicateArguments<TResult> args)
    {
        var exception = args.Outcome.Exception;
        if (exception is null)
        {
            return new ValueTask<bool>(false);
        }

        // The caller canceled: not a failure of the server or the network. Polly asks the predicate before it checks the
        // token, so without this a client-aborted open would be logged and counted as an Unknown failure.
        if (exception is OperationCanceledException && args.Context.CancellationToken.IsCancellationRequested)
        {
            return new ValueTask<bool>(false);
        }

        // Classified synchronously: Polly's synchronous Execute requires predicates that complete synchronously, and
        // ResilienceContext.IsSynchronous is not public. The only blocking part, the diagnostic connect after a connect failure
        // whose error code SqlClient lost (a refusal on Linux), is bounded to 500 ms, cached for 1 s per endpoint, and completes at once when the
        // connect is refused or no port is free.
        var context = args.Context;
        var failure = SqlFailureClassifier.Classify(exception, _context);
        context.Properties.Set(FailureKey, failure);

        var reason = GetReasonNotToRetry(failure, context.Properties.GetValue(s_longDelayRetriesKey, 0));
        if (reason is null && args.AttemptNumber >= _maxRetryAttempts)
        {
            reason = $"{_maxRetryAttempts} retries were made";
        }

        Observer?.OnFailure(failure, args.AttemptNumber, reason is null, reason);
        return new ValueTask<bool>(reason is null);
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

    private TimeSpan Jitter(TimeSpan delay) => TimeSpan.FromMilliseconds(delay.TotalMilliseconds * (0.8 + (0.4 * Randomizer())));
}

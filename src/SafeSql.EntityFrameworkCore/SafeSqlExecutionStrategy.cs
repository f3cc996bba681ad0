using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;

using SafeSql.Diagnostics;

using Log = SafeSql.EntityFrameworkCore.Diagnostics.Log;

namespace SafeSql.EntityFrameworkCore;

/// <summary>
/// An EF Core execution strategy whose retry decisions come from SafeSql's failure classifier
/// (<see cref="SqlFailureClassifier"/>) rather than from a list of error numbers: a broken connection and the transient
/// server errors (<see cref="TransientSqlErrors"/>, e.g. 1205) are retried with exponential backoff and jitter; command
/// timeouts, authentication, encryption and permanent errors (e.g. 102) are never retried. The failures of opening the
/// connection (a refusal, a connect timeout, ephemeral port exhaustion, a pool timeout, thrown as
/// <see cref="SqlConnectionPoolExhaustedException"/> naming the holders) are the data source's to retry: see the remarks.
/// </summary>
/// <remarks>
/// <para>
/// <c>UseSafeSql</c> sets it. EF's rules for retrying strategies hold: a transaction the application begins itself must
/// run inside <c>context.Database.CreateExecutionStrategy().Execute(...)</c> so that the whole block is replayed.
/// </para>
/// <para>
/// Opening the connection is the data source's: its open retry, circuit breaker and budget (<see cref="SafeSqlOptions.OpenTimeout"/>)
/// apply to every open of the context, and an open they gave up on is not replayed here, so a caller is held at most one budget
/// while the server is down.
/// </para>
/// <para>
/// An operation is replayed only when no change of it can have been applied, decided by where it failed (EF's own
/// interceptors, which <c>UseSafeSql</c> registers, tell the strategy what was in flight): while opening the connection or
/// beginning a transaction, inside a transaction that never committed (the server rolls it back), or in a query (EF's queries
/// are reads by its contract, so a query that calls a procedure with side effects is replayed too). When the connection
/// failed while a COMMIT or a write outside a transaction (a single-statement <c>SaveChanges</c>, <c>ExecuteSqlRaw</c>,
/// <c>ExecuteUpdate</c>, <c>ExecuteDelete</c>) was in flight, or after an earlier step of the operation was applied, the
/// outcome is unknown: it is not replayed, and <see cref="SqlOutcomeUnknownException"/> says so, with the original inside.
/// <c>ExecuteInTransaction(..., verifySucceeded)</c> is honoured: after such a failure the verification runs, and the
/// operation is replayed only when it reports the change is not there. A server error (a deadlock victim, 1205) means the
/// server did not apply the statement, wherever it happened.
/// </para>
/// <para>
/// When it gives up, the original exception is rethrown untouched (not EF's <see cref="RetryLimitExceededException"/>),
/// so <c>catch (SqlException ex) when (ex.Number == 1205)</c> works as without retries; a pool timeout becomes
/// <see cref="SqlConnectionPoolExhaustedException"/> with the original as its inner exception. Each failure is
/// counted on the "SafeSql" meter (<c>db.client.connection.safesql.failures</c>) and logged as event 3100; giving up is
/// event 3101.
/// </para>
/// </remarks>
public sealed class SafeSqlExecutionStrategy : ExecutionStrategy
{
    private static readonly SafeSqlExecutionStrategyOptions s_defaultOptions = new();

    // Which kinds are retried: SafeSql's rules, the same as for any operation (SqlRetryPolicy). An EF operation is replayed
    // whole, as EF's own retrying strategies do (idempotent); a command timeout, which may have run its whole CommandTimeout
    // on the server, is not.
    private static readonly SqlRetryStrategyOptions s_rules = new() { IsIdempotent = true, CommandTimeout = SqlRetryBehavior.DoNotRetry };

    // EF creates a strategy per operation: what comes from the data source is worked out once per data source.
    private static readonly ConditionalWeakTable<SafeSqlDataSource, DataSourceFacts> s_facts = [];

    private readonly SafeSqlDataSource _dataSource;
    private readonly SafeSqlExecutionStrategyOptions _options;
    private readonly DataSourceFacts _facts;
    private readonly List<SqlFailureKind> _kinds = [];
    private SqlFailure? _lastFailure;
    private string? _reasonNotToRetry;
    private Exception? _verifiedException;
    private (string Operation, SqlFailure Failure, string Reason)? _outcomeUnknown;

    /// <summary>Creates the strategy for one operation of a context configured with <c>UseSafeSql</c>.</summary>
    /// <param name="dependencies">EF's dependencies of the strategy (the factory passes them).</param>
    /// <param name="dataSource">The data source the context's connections come from (its pool, logs and meter).</param>
    /// <param name="options">Retry counts and delays; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="dependencies"/> or <paramref name="dataSource"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A value of <paramref name="options"/> is outside the range its property documents.</exception>
    public SafeSqlExecutionStrategy(ExecutionStrategyDependencies dependencies, SafeSqlDataSource dataSource, SafeSqlExecutionStrategyOptions? options = null)
        : base(
            dependencies ?? throw new ArgumentNullException(nameof(dependencies)),
            (options ?? s_defaultOptions).MaxRetryCount,
            (options ?? s_defaultOptions).MaxDelay)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _options = options ?? s_defaultOptions;
        Validate(_options);
        _dataSource = dataSource;
        _facts = s_facts.GetValue(dataSource, static source => new DataSourceFacts(source));
    }

    /// <inheritdoc/>
    public override TResult Execute<TState, TResult>(
        TState state,
        Func<DbContext, TState, TResult> operation,
        Func<DbContext, TState, ExecutionResult<TResult>>? verifySucceeded)
    {
        try
        {
            return base.Execute(state, operation, verifySucceeded);
        }
        catch (Exception ex) when (TakeOutcomeUnknown(ex) is { } unknown)
        {
            throw unknown;
        }
        catch (Exception ex) when (Unwrap(ex) is { } original)
        {
            original.Throw();
            throw;
        }
    }

    /// <inheritdoc/>
    public override async Task<TResult> ExecuteAsync<TState, TResult>(
        TState state,
        Func<DbContext, TState, CancellationToken, Task<TResult>> operation,
        Func<DbContext, TState, CancellationToken, Task<ExecutionResult<TResult>>>? verifySucceeded,
        CancellationToken cancellationToken = default)
    {
        try
        {
            return await base.ExecuteAsync(state, operation, verifySucceeded, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (TakeOutcomeUnknown(ex) is { } unknown)
        {
            throw unknown;
        }
        catch (Exception ex) when (Unwrap(ex) is { } original)
        {
            original.Throw();
            throw;
        }
    }

    /// <inheritdoc/>
    protected override void OnFirstExecution()
    {
        base.OnFirstExecution();
        _kinds.Clear();
        _lastFailure = null;
        _verifiedException = null;
        _outcomeUnknown = null;
        Tracker.Reset();
    }

    /// <inheritdoc/>
    protected override void OnRetry()
    {
        base.OnRetry();
        _verifiedException = null;
        Tracker.Reset();

        // The operation began with no transaction (EF refuses one in OnFirstExecution), so one still current is a leftover of
        // the failed attempt: when SqlClient's rollback on the dead connection throws inside EF's dispose, EF never clears it,
        // and the replay would run inside it (a SAVE TRANSACTION on a new session: error 628).
        var database = Dependencies.CurrentContext.Context.Database;
        if (database.CurrentTransaction is not null)
        {
            database.UseTransaction(null);
        }
    }

    /// <summary>
    /// Whether to run the operation's <c>verifySucceeded</c> (EF's <c>ExecuteInTransaction</c>) after <paramref name="exception"/>:
    /// for every failure SafeSql would retry, wherever it happened. When the verification reports the change is not there,
    /// <see cref="ShouldRetryOn"/> replays the operation even after a COMMIT in flight.
    /// </summary>
    /// <param name="exception">The exception the operation failed with.</param>
    /// <returns>Whether the verification runs.</returns>
    protected override bool ShouldVerifySuccessOn(Exception? exception)
    {
        if (exception is null || Tracker.OpenFailedOnDataSourcePath || ReasonNotToRetry(Classify(exception)) is not null)
        {
            return false;
        }

        _verifiedException = exception;
        return true;
    }

    /// <inheritdoc/>
    protected override bool ShouldRetryOn(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (Tracker.OpenFailedOnDataSourcePath)
        {
            // The data source's open path retried the open within its budget (or failed it at once while the breaker was open),
            // and logged and counted it: the operation is not replayed, so no caller is held for more than one budget.
            return false;
        }

        var failure = Classify(exception);
        _lastFailure = failure;
        _dataSource.Metrics.RecordFailure(_dataSource.Name, FailureKindTagValue.Of(failure.Kind), FailureKindTagValue.ErrorTypeOf(failure));
        _reasonNotToRetry = ReasonNotToRetry(failure);
        if (_reasonNotToRetry is null)
        {
            // Worth a retry; safe to replay only if nothing of the operation can have been applied.
            var tracker = Tracker;
            var point = ReferenceEquals(exception, _verifiedException) ? SqlFailurePoint.VerifiedNotApplied : tracker.Point;
            _reasonNotToRetry = SqlReplayDecision.GetReasonNotToReplay(failure, point, isIdempotent: false, out var outcomeUnknown);
            if (outcomeUnknown)
            {
                _outcomeUnknown = (tracker.Operation, failure, _reasonNotToRetry!);
            }
        }

        if (_reasonNotToRetry is null)
        {
            return true;
        }

        // EF rethrows without asking for a delay: the attempt is logged here.
        LogAttempt(failure, ExceptionsEncountered.Count + 1, null, exception);
        return false;
    }

    /// <inheritdoc/>
    protected override TimeSpan? GetNextDelay(Exception lastException)
    {
        ArgumentNullException.ThrowIfNull(lastException);
        var failure = _lastFailure ?? Classify(lastException);
        var attempt = ExceptionsEncountered.Count;
        _kinds.Add(failure.Kind);
        var delay = NextDelay(failure, attempt);
        LogAttempt(failure, attempt, delay, lastException);
        return delay;
    }

    private void LogAttempt(SqlFailure failure, int attempt, TimeSpan? delay, Exception exception)
    {
        Log.ExecutionAttemptFailed(
            _facts.Logger,
            _facts.PoolName,
            attempt,
            failure.Kind,
            failure.SqlErrorNumber,
            failure.SocketError,
            delay is not null,
            delay is { } d ? (long)d.TotalMilliseconds : 0,
            failure.Explanation,
            exception);
        if (delay is null)
        {
            Log.ExecutionFailed(
                _facts.Logger,
                _facts.PoolName,
                failure.Kind,
                attempt,
                _reasonNotToRetry ?? string.Create(CultureInfo.InvariantCulture, $"the {MaxRetryCount} retries are spent"),
                _outcomeUnknown is null ? "The original exception is rethrown." : "SqlOutcomeUnknownException is thrown, the original as its inner exception.");
        }
    }

    /// <summary>
    /// Why a failure is not retried, or <see langword="null"/>: SafeSql's decision (<see cref="SqlRetryPolicy.GetReasonNotToRetry"/>,
    /// port exhaustion at most once), except that a pool timeout is retried once here: connections may have come back while
    /// EF's operation waited, and if not, the holders are named.
    /// </summary>
    private string? ReasonNotToRetry(SqlFailure failure) => failure.Kind == SqlFailureKind.PoolTimeout
        ? CountOfKind(SqlFailureKind.PoolTimeout) == 0 ? null : "PoolTimeout is retried only once"
        : _facts.Policy.GetReasonNotToRetry(failure, CountOfKind(SqlFailureKind.SocketExhaustion));

    private TimeSpan? NextDelay(SqlFailure failure, int attempt)
    {
        if (_reasonNotToRetry is not null || attempt > MaxRetryCount)
        {
            return null;
        }

        if (_facts.Policy.BehaviorOf(failure.Kind) == SqlRetryBehavior.RetryOnceAfterLongDelay)
        {
            return _options.SocketExhaustionDelay;
        }

        // Exponential backoff with "equal jitter": half the step fixed, the other half random, so a farm of clients that
        // failed together does not come back together.
        var step = Math.Min(_options.MaxDelay.TotalMilliseconds, _options.Delay.TotalMilliseconds * Math.Pow(2, attempt - 1));
        var delay = TimeSpan.FromMilliseconds((step / 2) + (Random.NextDouble() * step / 2));

        // A failed open starts SqlClient's pool blocking period (5 s, doubling up to 60 s): an open inside it gets a copy of
        // the cached error without trying, so a retry sooner would only spend an attempt. SqlClient ends the period from a
        // timer callback, which runs late on a busy machine: a tenth more leaves room for it.
        if (_facts.Policy.PoolBlocking && failure.Kind is SqlFailureKind.ConnectionRefused or SqlFailureKind.ListenBacklogOverflow or SqlFailureKind.ConnectTimeout or SqlFailureKind.NetworkUnreachable)
        {
            var blocked = SqlPoolBlockingPeriod.After(CountOfOpenFailures() - 1) * 1.1;
            delay = delay > blocked ? delay : blocked;
        }

        return delay;
    }

    /// <summary>
    /// Classifies the exception EF threw, or the failure it hides: when a command inside a transaction, or its COMMIT, fails
    /// because the connection died, EF disposes the transaction in a <c>finally</c>, and SqlClient's rollback on the closed
    /// connection can throw "Invalid operation. The connection is closed." (<see cref="InvalidOperationException"/> from
    /// <c>SqlInternalTransaction.Rollback</c>, a race seen under load with SqlClient 6.1.8 and 7.1.1), which replaces the
    /// original exception. The interceptors saw the original; it decides.
    /// </summary>
    private SqlFailure Classify(Exception exception)
    {
        var failure = _facts.Policy.Classify(exception);
        if (failure.Kind == SqlFailureKind.Unknown
            && exception is InvalidOperationException
            && exception.StackTrace?.Contains("SqlInternalTransaction.Rollback", StringComparison.Ordinal) == true
            && Tracker.LastFailure is SqlException hidden)
        {
            return _facts.Policy.Classify(hidden);
        }

        return failure;
    }

    /// <summary>The tracker of the context this strategy runs for (what EF's interceptors saw of the current attempt).</summary>
    private ReplayTracker Tracker => ReplayTracker.Of(Dependencies.CurrentContext.Context);

    /// <summary>
    /// The exception to throw when <see cref="ShouldRetryOn"/> did not replay the operation because its outcome is unknown:
    /// <see cref="SqlOutcomeUnknownException"/> with what EF threw (a <see cref="DbUpdateException"/> around SqlClient's
    /// exception, or SqlClient's) inside; <see langword="null"/> otherwise.
    /// </summary>
    private SqlOutcomeUnknownException? TakeOutcomeUnknown(Exception thrown)
    {
        var unknown = _outcomeUnknown;
        _outcomeUnknown = null;
        if (unknown is null || thrown is RetryLimitExceededException)
        {
            return null;
        }

        return new SqlOutcomeUnknownException(unknown.Value.Operation, unknown.Value.Failure, unknown.Value.Reason, thrown);
    }

    private int CountOfOpenFailures() =>
        _kinds.Count(static kind => kind is SqlFailureKind.ConnectionRefused or SqlFailureKind.ListenBacklogOverflow or SqlFailureKind.ConnectTimeout or SqlFailureKind.NetworkUnreachable);

    private int CountOfKind(SqlFailureKind kind) => _kinds.Count(k => k == kind);

    /// <summary>
    /// The exception to rethrow instead of EF's: the original inside <see cref="RetryLimitExceededException"/>, and a pool
    /// timeout as SafeSql's exception naming the holders; <see langword="null"/> to let <paramref name="exception"/> go.
    /// </summary>
    private ExceptionDispatchInfo? Unwrap(Exception exception)
    {
        var original = exception is RetryLimitExceededException { InnerException: { } inner } ? inner : exception;
        if (original is InvalidOperationException poolTimeout && _dataSource.Tracker.IsPoolTimeout(poolTimeout))
        {
            return ExceptionDispatchInfo.Capture(_dataSource.Tracker.CreatePoolExhaustedException(poolTimeout));
        }

        return ReferenceEquals(original, exception) ? null : ExceptionDispatchInfo.Capture(original);
    }

    private static void Validate(SafeSqlExecutionStrategyOptions options)
    {
        if (options.MaxRetryCount is < 0 or > 10)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxRetryCount, "SafeSqlExecutionStrategyOptions.MaxRetryCount must be 0 to 10.");
        }

        if (options.Delay < TimeSpan.Zero || options.Delay > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Delay, "SafeSqlExecutionStrategyOptions.Delay must be 0 to 1 minute.");
        }

        if (options.MaxDelay <= TimeSpan.Zero || options.MaxDelay > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxDelay, "SafeSqlExecutionStrategyOptions.MaxDelay must be more than 0 and at most 10 minutes.");
        }

        if (options.SocketExhaustionDelay < TimeSpan.Zero || options.SocketExhaustionDelay > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.SocketExhaustionDelay, "SafeSqlExecutionStrategyOptions.SocketExhaustionDelay must be 0 to 10 minutes.");
        }
    }

    /// <summary>What the strategy needs of a data source: its logger, SafeSql's retry decision for its server, its pool name.</summary>
    private sealed class DataSourceFacts
    {
        public DataSourceFacts(SafeSqlDataSource dataSource)
        {
            Logger = dataSource.LoggerFactory.CreateLogger<SafeSqlExecutionStrategy>();
            Policy = new SqlRetryPolicy(s_rules, SqlOperationPhase.Unknown, dataSource.ConnectionString, openConnections: () => dataSource.Tracker.LeasedCount);
            PoolName = PoolDisplayName.Of(dataSource.Name);
        }

        public ILogger Logger { get; }

        /// <summary>SafeSql's retry decision for this data source's server (classification context, pool blocking period).</summary>
        public SqlRetryPolicy Policy { get; }

        public string PoolName { get; }
    }
}

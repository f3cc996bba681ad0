using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;

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
    // EF creates a strategy per operation: what comes from the data source is worked out once per data source.
    private static readonly ConditionalWeakTable<SafeSqlDataSource, DataSourceFacts> s_facts = [];

    private readonly SafeSqlDataSource _dataSource;
    private readonly SqlRetryStrategyOptions _options;
    private readonly DataSourceFacts _facts;
    private readonly List<SqlFailureKind> _kinds = [];
    private (Exception Exception, SqlFailure Failure)? _classified;
    private SqlFailure? _lastFailure;
    private string? _reasonNotToRetry;
    private Exception? _verifiedException;
    private (string Operation, SqlFailure Failure, string Reason)? _outcomeUnknown;

    /// <summary>Creates the strategy for one operation of a context configured with <c>UseSafeSql</c>.</summary>
    /// <param name="dependencies">EF's dependencies of the strategy (the factory passes them).</param>
    /// <param name="dataSource">The data source the context's connections come from (its pool, logs and meter).</param>
    /// <param name="options">SafeSql's retry options, the same as for <c>AddSqlRetry</c>: which kinds are retried, how many times
    /// (<c>MaxRetryAttempts</c>, 3 by default) and how long apart (<c>Delay</c> 1 s doubled per retry up to <c>MaxDelay</c> 30 s,
    /// with jitter); <see langword="null"/> for the defaults. Read once, here.</param>
    /// <exception cref="ArgumentNullException"><paramref name="dependencies"/> or <paramref name="dataSource"/> is <see langword="null"/>.</exception>
    /// <exception cref="System.ComponentModel.DataAnnotations.ValidationException">A value of <paramref name="options"/> is outside the
    /// range its property documents (Polly's validation attributes).</exception>
    public SafeSqlExecutionStrategy(ExecutionStrategyDependencies dependencies, SafeSqlDataSource dataSource, SqlRetryStrategyOptions? options = null)
        : base(
            dependencies ?? throw new ArgumentNullException(nameof(dependencies)),
            Validated(options ??= new SqlRetryStrategyOptions()).MaxRetryAttempts,
            options.MaxDelay ?? TimeSpan.FromSeconds(30))
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _options = options;
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
        ArgumentNullException.ThrowIfNull(operation);
        try
        {
            // The failure is classified here, on EF's async path without blocking a thread (the classifier may look the server
            // up and try a diagnostic connect); ShouldRetryOn, which EF calls synchronously, reads the result.
            return await base.ExecuteAsync(
                (Operation: operation, State: state, Strategy: this),
                static async (context, run, token) =>
                {
                    try
                    {
                        return await run.Operation(context, run.State, token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (!(ex is OperationCanceledException && token.IsCancellationRequested))
                    {
                        await run.Strategy.ClassifyAsync(ex, token).ConfigureAwait(false);
                        throw;
                    }
                },
                verifySucceeded is null ? null : (context, run, token) => verifySucceeded(context, run.State, token),
                cancellationToken).ConfigureAwait(false);
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
        _classified = null;
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
        if (exception is null || Tracker.OpenFailedOnDataSourcePath || !Decide(Classify(exception), SqlFailurePoint.VerifiedNotApplied).ShouldRetry)
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
        _dataSource.RecordFailure(failure);

        // Worth a retry, and safe to replay only if nothing of the operation can have been applied.
        var point = ReferenceEquals(exception, _verifiedException) ? SqlFailurePoint.VerifiedNotApplied : Tracker.Point;
        var decision = Decide(failure, point);
        _reasonNotToRetry = decision.ReasonNotToRetry;
        if (decision.OutcomeUnknown)
        {
            _outcomeUnknown = (Tracker.Operation, failure, _reasonNotToRetry!);
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
        TimeSpan? delay = _reasonNotToRetry is null && attempt <= MaxRetryCount ? _options.GetRetryDelay(failure, attempt - 1) : null;
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
    /// SafeSql's decision (<see cref="SqlRetryStrategyOptions.Decide"/>, the same as <c>AddSqlRetry</c>'s) for a failure at
    /// <paramref name="point"/>; EF counts the attempts (<see cref="ExecutionStrategy.MaxRetryCount"/>), so only the retries
    /// already made of the same kind are passed (a kind retried once).
    /// </summary>
    private SqlRetryDecision Decide(SqlFailure failure, SqlFailurePoint point) =>
        _options.Decide(failure, point, attemptNumber: 0, earlierRetriesOfKind: _kinds.Count(kind => kind == failure.Kind));

    /// <summary>
    /// Classifies the exception EF threw, or the failure it hides: when a command inside a transaction, or its COMMIT, fails
    /// because the connection died, EF disposes the transaction in a <c>finally</c>, and SqlClient's rollback on the closed
    /// connection can throw "Invalid operation. The connection is closed." (<see cref="InvalidOperationException"/> from
    /// <c>SqlInternalTransaction.Rollback</c>, a race seen under load with SqlClient 6.1.8 and 7.1.1), which replaces the
    /// original exception. The interceptors saw the original; it decides.
    /// </summary>
    private SqlFailure Classify(Exception exception)
    {
        var target = FailureOf(exception);
        return _classified is { } classified && ReferenceEquals(classified.Exception, target)
            ? classified.Failure
            : SqlFailureClassifier.Classify(target, _facts.ServerAddress);
    }

    /// <summary>The asynchronous <see cref="Classify"/>, run where the operation threw on EF's async path; remembered for
    /// <see cref="ShouldRetryOn"/>.</summary>
    private async Task ClassifyAsync(Exception thrown, CancellationToken cancellationToken)
    {
        var target = FailureOf(thrown is DbUpdateException { InnerException: { } inner } ? inner : thrown);
        _classified = (target, await SqlFailureClassifier.ClassifyAsync(target, _facts.ServerAddress, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The exception to classify: the one EF threw, or the original a rollback's exception replaced.</summary>
    private Exception FailureOf(Exception exception) =>
        exception is InvalidOperationException
        && exception.StackTrace?.Contains("SqlInternalTransaction.Rollback", StringComparison.Ordinal) == true
        && Tracker.LastFailure is SqlException hidden
            ? hidden
            : exception;

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

    /// <summary>
    /// The exception to rethrow instead of EF's: the original inside <see cref="RetryLimitExceededException"/>;
    /// <see langword="null"/> to let <paramref name="exception"/> go.
    /// </summary>
    private static ExceptionDispatchInfo? Unwrap(Exception exception) =>
        exception is RetryLimitExceededException { InnerException: { } inner } ? ExceptionDispatchInfo.Capture(inner) : null;

    /// <summary>Validates the options with Polly's validation attributes (as Polly does when it builds a pipeline).</summary>
    private static SqlRetryStrategyOptions Validated(SqlRetryStrategyOptions options)
    {
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);
        return options;
    }

    /// <summary>What the strategy needs of a data source: its logger, its server's address for the classifier, its pool name.</summary>
    private sealed class DataSourceFacts
    {
        public DataSourceFacts(SafeSqlDataSource dataSource)
        {
            Logger = dataSource.LoggerFactory.CreateLogger<SafeSqlExecutionStrategy>();
            ServerAddress = new SqlConnectionStringBuilder(dataSource.ConnectionString).DataSource;
            PoolName = dataSource.DisplayName;
        }

        public ILogger Logger { get; }

        /// <summary>The data source's <c>Data Source</c>, which the classifier needs to tell a server that is down from an overflow.</summary>
        public string ServerAddress { get; }

        public string PoolName { get; }
    }
}

using System.Globalization;
using System.Runtime.ExceptionServices;

using Polly;
using Polly.CircuitBreaker;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>The time budget of one open (<see cref="SafeSqlOptions.OpenTimeout"/>) and what its pipeline run throws.</summary>
public sealed partial class SafeSqlDataSource
{
    /// <summary>The failure of the attempt made outside Polly, for the breaker when the budget ends the run before it is replayed.</summary>
    internal static readonly ResiliencePropertyKey<Exception?> FirstFailureKey = new("SafeSql.FirstFailure");

    /// <summary>
    /// The budget of one pipeline run: a token that the caller's token or the end of the budget cancels (the budget counts from
    /// the start of the open, first attempt included), the run's context, and the translation of what the pipeline throws.
    /// </summary>
    private sealed class OpenBudget : IDisposable
    {
        private readonly SafeSqlDataSource _dataSource;
        private readonly CancellationToken _callerToken;
        private readonly CancellationTokenSource? _budget;
        private readonly CancellationTokenSource? _linked;
        private readonly SqlOpenDeadline? _deadline;
        private int _armed;

        internal OpenBudget(SafeSqlDataSource dataSource, long started, CancellationToken callerToken)
        {
            _dataSource = dataSource;
            _callerToken = callerToken;
            Token = callerToken;
            if (dataSource._openBudget == Timeout.InfiniteTimeSpan)
            {
                return;
            }

            // The timer is armed when the pipeline first calls back (Arm), not here: a run whose budget is (nearly) spent still
            // replays the first attempt's failure, so the retry policy classifies it and the breaker counts it, and the deadline
            // stops any retry; the token only ends what runs after that (a wait, a later attempt).
            _deadline = new SqlOpenDeadline(dataSource.TimeProvider, started, dataSource._openBudget);
            _budget = new CancellationTokenSource();
            if (callerToken.CanBeCanceled)
            {
                _linked = CancellationTokenSource.CreateLinkedTokenSource(callerToken, _budget.Token);
            }

            Token = _linked?.Token ?? _budget.Token;
        }

        /// <summary>Starts the budget's timer (once; called from the pipeline's callback, before the first attempt is replayed).</summary>
        internal void Arm()
        {
            if (_deadline is not null && Interlocked.Exchange(ref _armed, 1) == 0)
            {
                _budget!.CancelAfter(_deadline.Remaining);
            }
        }

        internal CancellationToken Token { get; }

        /// <summary>A pooled context for the run (return it to <see cref="ResilienceContextPool.Shared"/>).</summary>
        internal ResilienceContext CreateContext(ReplayState state, bool synchronous)
        {
            var context = ResilienceContextPool.Shared.Get(Token);
            if (synchronous)
            {
                context.Properties.Set(SqlRetryPolicy.SynchronousKey, true);
            }

            context.Properties.Set(FirstFailureKey, state.FirstFailure?.SourceException);
            context.Properties.Set(SqlRetryPolicy.DeadlineKey, _deadline);
            return context;
        }

        /// <summary>
        /// What the caller gets instead of <paramref name="exception"/>, or <see langword="null"/> to let it through: an open circuit
        /// becomes <see cref="SqlServerUnavailableException"/>; a run the budget ended gives the failure of the last attempt (the
        /// original exception), logged as given up (event 3002).
        /// </summary>
        internal Exception? Translate(Exception exception, ResilienceContext context, ReplayState state)
        {
            if (exception is BrokenCircuitException broken)
            {
                return _dataSource.CircuitOpenException(broken);
            }

            if (exception is not OperationCanceledException || _budget is not { IsCancellationRequested: true } || _callerToken.IsCancellationRequested)
            {
                return null;
            }

            var last = context.Properties.GetValue(SqlRetryPolicy.FailureKey, null);
            var lastException = last?.Exception ?? state.FirstFailure?.SourceException;
            if (lastException is null)
            {
                return null;
            }

            DataSourceLog.OpenFailed(
                _dataSource._classificationLogger,
                PoolDisplayName.Of(_dataSource.Name),
                last?.Kind ?? SqlFailureKind.Unknown,
                state.Attempts,
                _deadline!.SpentReason);
            return lastException;
        }

        public void Dispose()
        {
            _linked?.Dispose();
            _budget?.Dispose();
        }
    }
}

using System.Globalization;
using System.Runtime.ExceptionServices;

using Polly;
using Polly.CircuitBreaker;

using SafeSql.Classification;
using SafeSql.Diagnostics;
using SafeSql.Resilience;

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

        internal OpenBudget(SafeSqlDataSource dataSource, long started, CancellationToken callerToken)
        {
            _dataSource = dataSource;
            _callerToken = callerToken;
            if (dataSource._openBudget == Timeout.InfiniteTimeSpan)
            {
                Token = callerToken;
                return;
            }

            var remaining = dataSource._openBudget - dataSource.TimeProvider.GetElapsedTime(started);
            _budget = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, dataSource.TimeProvider);
            if (callerToken.CanBeCanceled)
            {
                _linked = CancellationTokenSource.CreateLinkedTokenSource(callerToken, _budget.Token);
            }

            Token = _linked?.Token ?? _budget.Token;
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
            return context;
        }

        /// <summary>
        /// What the caller gets instead of <paramref name="exception"/>, or <see langword="null"/> to let it through: an open circuit
        /// becomes <see cref="SqlServerUnavailableException"/>; a run the budget ended gives the failure of the last attempt (the
        /// original exception), logged as given up (event 3002).
        /// </summary>
        internal Exception? Translate(Exception exception, ResilienceContext context, ExceptionDispatchInfo? firstFailure)
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
            var lastException = last?.Exception ?? firstFailure?.SourceException;
            if (lastException is null)
            {
                return null;
            }

            DataSourceLog.OpenFailed(
                _dataSource._classificationLogger,
                PoolDisplayName.Of(_dataSource.Name),
                last?.Kind ?? SqlFailureKind.Unknown,
                0,
                string.Create(CultureInfo.InvariantCulture, $"the open's time budget of {_dataSource._openBudget.TotalMilliseconds:0} ms (OpenTimeout, else Connect Timeout) was spent"));
            return lastException;
        }

        public void Dispose()
        {
            _linked?.Dispose();
            _budget?.Dispose();
        }
    }
}

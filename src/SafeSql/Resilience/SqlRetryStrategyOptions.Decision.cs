using Polly;

namespace SafeSql;

/// <summary>The one retry decision of SafeSql, stateless and public, that every retrying strategy calls.</summary>
public partial class SqlRetryStrategyOptions
{
    /// <summary>
    /// Decides whether a classified failure is retried, by these options: the decision of <c>AddSqlRetry</c>'s strategy, of the
    /// data source's open retry and of SafeSql.EntityFrameworkCore's execution strategy. Stateless: the caller counts.
    /// </summary>
    /// <param name="failure">The classified failure (<see cref="SqlFailureClassifier"/>).</param>
    /// <param name="point">Where the operation was when it failed: <see cref="SqlFailurePoint.BeforeSending"/> for an open,
    /// <see cref="SqlFailurePoint.Unknown"/> for an opaque delegate (then <see cref="IsIdempotent"/> and
    /// <see cref="SqlFailure.MayHaveExecuted"/> decide).</param>
    /// <param name="attemptNumber">The 0-based number of the attempt that failed: from <c>MaxRetryAttempts</c> on, nothing is retried.</param>
    /// <param name="earlierRetriesOfKind">How many retries this operation already made after a failure of the same kind:
    /// <see cref="SqlRetryBehavior.RetryOnceAfterLongDelay"/> and a pool timeout of a pool that was not full are retried once.</param>
    /// <returns>Whether the failure is retried and, when not, why (and whether the outcome is unknown).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="failure"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="attemptNumber"/> or <paramref name="earlierRetriesOfKind"/> is negative.</exception>
    /// <remarks>
    /// Never retried: a pool timeout of a full pool (a leak: waiting again cannot help), <see cref="SqlFailureKind.AuthenticationFailure"/>,
    /// <see cref="SqlFailureKind.EncryptionFailure"/>, <see cref="SqlFailureKind.Permanent"/>, <see cref="SqlFailureKind.Unknown"/>,
    /// <see cref="SqlFailureKind.CircuitOpen"/>, a kind set to <see cref="SqlRetryBehavior.DoNotRetry"/>, a failure that is not
    /// transient, a command timeout unless the operation is idempotent, and a failure that may have applied a change
    /// (<see cref="SqlReplayDecision"/>'s rule, docs/write-replay.md).
    /// </remarks>
    public SqlRetryDecision Decide(SqlFailure failure, SqlFailurePoint point, int attemptNumber, int earlierRetriesOfKind)
    {
        ArgumentNullException.ThrowIfNull(failure);
        ArgumentOutOfRangeException.ThrowIfNegative(attemptNumber);
        ArgumentOutOfRangeException.ThrowIfNegative(earlierRetriesOfKind);
        var reason = GetReasonNotToRetry(failure, point, earlierRetriesOfKind, out var outcomeUnknown);
        if (reason is null && attemptNumber >= MaxRetryAttempts)
        {
            reason = $"{MaxRetryAttempts} retries were made";
        }

        return new SqlRetryDecision(reason, outcomeUnknown);
    }

    /// <summary>
    /// The delay before the retry after attempt <paramref name="attemptNumber"/>, for a strategy Polly does not drive (EF Core's
    /// execution strategy): <see cref="SocketExhaustionDelay"/> (-20 % to +20 %) for a kind set to
    /// <see cref="SqlRetryBehavior.RetryOnceAfterLongDelay"/>; otherwise the backoff of <c>Delay</c>, <c>BackoffType</c> and
    /// <c>MaxDelay</c>, of which a random half is taken off when <c>UseJitter</c> is set ("equal jitter"), so callers that failed
    /// together do not retry together.
    /// </summary>
    /// <param name="failure">The classified failure.</param>
    /// <param name="attemptNumber">The 0-based number of the attempt that failed.</param>
    /// <returns>The delay; at most <c>MaxDelay</c> except for the long delay.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="failure"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="attemptNumber"/> is negative.</exception>
    public TimeSpan GetRetryDelay(SqlFailure failure, int attemptNumber)
    {
        ArgumentNullException.ThrowIfNull(failure);
        ArgumentOutOfRangeException.ThrowIfNegative(attemptNumber);
        if (BehaviorOf(failure.Kind, SqlFailurePoint.Unknown) == SqlRetryBehavior.RetryOnceAfterLongDelay)
        {
            return Jitter(SocketExhaustionDelay, 0.8, 0.4);
        }

        var median = MedianBackoff(attemptNumber);
        return UseJitter ? Jitter(median, 0.5, 0.5) : median;
    }

    /// <summary>Why the failure is not retried by these options, attempts aside, or <see langword="null"/>.</summary>
    internal string? GetReasonNotToRetry(SqlFailure failure, SqlFailurePoint point, int earlierRetriesOfKind, out bool outcomeUnknown)
    {
        outcomeUnknown = false;
        if (failure.Kind == SqlFailureKind.PoolTimeout)
        {
            return !failure.IsTransient ? "PoolTimeout is never retried when every pooled connection was leased"
                : earlierRetriesOfKind >= 1 ? "PoolTimeout is retried only once"
                : null;
        }

        var behavior = BehaviorOf(failure.Kind, point);
        if (behavior == SqlRetryBehavior.DoNotRetry)
        {
            return failure.Kind switch
            {
                SqlFailureKind.AuthenticationFailure or SqlFailureKind.EncryptionFailure or SqlFailureKind.Permanent or SqlFailureKind.Unknown =>
                    $"{failure.Kind} is never retried",
                SqlFailureKind.CircuitOpen => "the circuit breaker is open (the server is unavailable): the open fails at once rather than waiting",
                SqlFailureKind.CommandTimeout when !IsIdempotentAt(point) => "a command timeout may have executed and the operation is not marked idempotent",
                _ => $"{failure.Kind} is configured DoNotRetry",
            };
        }

        if (!failure.IsTransient && failure.Kind != SqlFailureKind.CommandTimeout)
        {
            return "the failure is not transient";
        }

        if (SqlReplayDecision.GetReasonNotToReplay(failure, point, IsIdempotent, out outcomeUnknown) is { } notReplayed)
        {
            return notReplayed;
        }

        if (behavior == SqlRetryBehavior.RetryOnceAfterLongDelay && earlierRetriesOfKind >= 1)
        {
            return $"{failure.Kind} is retried only once";
        }

        return null;
    }

    /// <summary>How these options retry <paramref name="kind"/> at <paramref name="point"/> (kinds that are never retried:
    /// <see cref="SqlRetryBehavior.DoNotRetry"/>). A command timeout cannot happen while opening; elsewhere it is retried only
    /// when the operation is idempotent.</summary>
    internal SqlRetryBehavior BehaviorOf(SqlFailureKind kind, SqlFailurePoint point) => kind switch
    {
        SqlFailureKind.ConnectionRefused => ConnectionRefused,
        SqlFailureKind.ListenBacklogOverflow => ListenBacklogOverflow,
        SqlFailureKind.ConnectTimeout => ConnectTimeout,
        SqlFailureKind.ConnectionBroken => ConnectionBroken,
        SqlFailureKind.TransientServerError => TransientServerError,
        SqlFailureKind.NetworkUnreachable => NetworkUnreachable,
        SqlFailureKind.SocketExhaustion => SocketExhaustion,
        SqlFailureKind.CommandTimeout when point != SqlFailurePoint.BeforeSending && IsIdempotent => CommandTimeout,
        _ => SqlRetryBehavior.DoNotRetry,
    };

    /// <summary>Polly's backoff for this attempt before jitter (its median), capped at <c>MaxDelay</c>.</summary>
    internal TimeSpan MedianBackoff(int attemptNumber)
    {
        var delay = Delay.TotalMilliseconds;
        var median = BackoffType switch
        {
            DelayBackoffType.Exponential => delay * Math.Pow(2, Math.Min(attemptNumber, 30)),
            DelayBackoffType.Linear => delay * (attemptNumber + 1),
            _ => delay,
        };
        var capped = MaxDelay is { } max ? Math.Min(median, max.TotalMilliseconds) : median;
        return TimeSpan.FromMilliseconds(Math.Min(capped, TimeSpan.MaxValue.TotalMilliseconds / 2));
    }

    /// <summary><paramref name="delay"/> × (<paramref name="from"/> + <paramref name="spread"/> × a random value in [0, 1)), from <c>Randomizer</c>.</summary>
    internal TimeSpan Jitter(TimeSpan delay, double from, double spread) =>
        TimeSpan.FromMilliseconds(delay.TotalMilliseconds * (from + (spread * Randomizer())));

    private bool IsIdempotentAt(SqlFailurePoint point) => IsIdempotent || point == SqlFailurePoint.BeforeSending;
}

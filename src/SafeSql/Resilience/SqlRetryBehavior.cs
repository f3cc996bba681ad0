namespace SafeSql;

/// <summary>How a retry strategy responds to one <see cref="SqlFailureKind"/>.</summary>
public enum SqlRetryBehavior
{
    /// <summary>Never retry this kind: the original exception is rethrown at once.</summary>
    DoNotRetry = 0,

    /// <summary>
    /// Retry with the retry strategy's backoff (for <c>SqlRetryStrategyOptions</c>, Polly's jittered exponential backoff from
    /// <c>Delay</c>, capped at <c>MaxDelay</c>), and never sooner than the connection pool's blocking period after a failed open.
    /// </summary>
    Retry = 1,

    /// <summary>
    /// Retry once, after <c>SocketExhaustionDelay</c> (±20 %): for ephemeral port exhaustion, where ports free up only as
    /// TIME_WAIT expires (60 s on Linux, 120 s on Windows: TcpTimedWaitDelay; 240 s before Windows Server 2003) and every
    /// quick retry takes another port.
    /// </summary>
    RetryOnceAfterLongDelay = 2,
}

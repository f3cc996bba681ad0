namespace SafeSql.EntityFrameworkCore;

/// <summary>
/// Options of <see cref="SafeSqlExecutionStrategy"/>: how many times and how long apart an EF Core operation is retried.
/// Which failures are retried is not an option: it is SafeSql's classification (<see cref="SqlFailureKind"/>). The
/// strategy's constructor checks the ranges each property states.
/// </summary>
public sealed class SafeSqlExecutionStrategyOptions
{
    /// <summary>Gets or sets the most retries of one operation (attempts = retries + 1).</summary>
    /// <value>0 to 10; the default value is 3 (4 attempts). Socket exhaustion and pool timeouts are retried at most once whatever this is.</value>
    public int MaxRetryCount { get; set; } = 3;

    /// <summary>Gets or sets the delay before the first retry of a refused connection, a connect timeout, a broken
    /// connection or a transient server error; each further retry doubles it, and a random jitter takes up to half off.</summary>
    /// <value>0 to 1 minute; the default value is 1 second.</value>
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the longest backoff delay.</summary>
    /// <value>More than 0, at most 10 minutes; the default value is 30 seconds.</value>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets the delay before the single retry after <see cref="SqlFailureKind.SocketExhaustion"/>. A quick retry
    /// cannot succeed before TIME_WAIT releases ports (60 s on Linux, <c>TCP_TIMEWAIT_LEN</c>) and would take one more.
    /// </summary>
    /// <value>0 to 10 minutes; the default value is 30 seconds (half of Linux's TIME_WAIT, so the oldest ports of a burst are free again).</value>
    public TimeSpan SocketExhaustionDelay { get; set; } = TimeSpan.FromSeconds(30);
}

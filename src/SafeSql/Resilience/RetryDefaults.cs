namespace SafeSql;

/// <summary>Default values of the retry options, as constants so attributes and XML docs can use them.</summary>
internal static class RetryDefaults
{
    /// <summary>Default of <see cref="Polly.Retry.RetryStrategyOptions{TResult}.MaxRetryAttempts"/> in <see cref="SqlRetryStrategyOptions"/>: 3 retries (4 attempts in all), Polly's own default.</summary>
    internal const int MaxRetryAttempts = 3;

    /// <summary>Default of <see cref="Polly.Retry.RetryStrategyOptions{TResult}.Delay"/> in <see cref="SqlRetryStrategyOptions"/>, in milliseconds: 1 second (Polly's is 2 s).</summary>
    internal const int DelayMilliseconds = 1000;

    /// <summary>Default of <see cref="Polly.Retry.RetryStrategyOptions{TResult}.MaxDelay"/> in <see cref="SqlRetryStrategyOptions"/>, in seconds: 30 seconds (Polly's is none).</summary>
    internal const int MaxDelaySeconds = 30;

    /// <summary>
    /// Default of <see cref="SqlRetryStrategyOptions.SocketExhaustionDelay"/>, in seconds: 30 seconds, half of Linux's
    /// TIME_WAIT (TCP_TIMEWAIT_LEN, 60 s), so the oldest ports of a burst have been released.
    /// </summary>
    internal const int SocketExhaustionDelaySeconds = 30;

    /// <summary>Lowest accepted <see cref="SqlRetryStrategyOptions.SocketExhaustionDelay"/>, as a <see cref="TimeSpan"/> string.</summary>
    internal const string MinRetryDelay = "00:00:00";

    /// <summary>Highest accepted <see cref="SqlRetryStrategyOptions.SocketExhaustionDelay"/>: 10 minutes.</summary>
    internal const string MaxRetryDelay = "00:10:00";

    /// <summary>
    /// SqlClient's pool blocking period after a failed open: 5 s, doubled after each further failure, capped at 60 s
    /// (<c>ERROR_WAIT_DEFAULT</c> and <c>CreateObject</c> in dotnet/SqlClient v6.1.x src/.../ConnectionPool/WaitHandleDbConnectionPool.cs; unchanged through 7.1.1).
    /// </summary>
    internal const int PoolBlockingPeriodInitialSeconds = 5;

    /// <summary>The cap of SqlClient's pool blocking period: 60 s.</summary>
    internal const int PoolBlockingPeriodMaxSeconds = 60;

    /// <summary>The name of every SafeSql resilience pipeline ("SafeSql"); its instance name is the options name.</summary>
    internal const string PipelineName = "SafeSql";

    /// <summary>The default <c>Name</c> of a <see cref="SqlRetryStrategyOptions"/>' strategy.</summary>
    internal const string RetryStrategyName = "SafeSqlRetry";

    /// <summary>
    /// How long an asynchronous open waits inside SqlClient, in milliseconds, before the data source's probe checks whether the
    /// server's endpoint refuses: 500 ms. A refused connect costs about 90 % of <c>Connect Timeout</c> inside SqlClient 6.1+ on
    /// Linux (measured on 6.1.8 and 7.1.1: 4.5 s of Connect Timeout=5), where a probe learns it in a millisecond.
    /// </summary>
    internal const int RefusalCheckMilliseconds = 500;

    /// <summary>
    /// How long past the open's budget SafeSql still waits for an attempt SqlClient has not finished, in milliseconds: 1 s. The
    /// budget defaults to <c>Connect Timeout</c>, when SqlClient's own connect and pool-wait timeouts are due too; they come first
    /// when on time (a pool timeout then names the holders), and SafeSql stops waiting only for an attempt SqlClient runs late
    /// (queued asynchronous opens served one after another, each with a connect of its own).
    /// </summary>
    internal const int LateAttemptGraceMilliseconds = 1000;
}

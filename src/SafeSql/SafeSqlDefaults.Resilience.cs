namespace SafeSql;

/// <summary>
/// Default values of SafeSql's options, as constants so attributes and XML docs can use them. Partial by concern:
/// this file holds the defaults of failure classification and retries.
/// </summary>
internal static partial class SafeSqlDefaults
{
    /// <summary>Default of <see cref="Resilience.SqlOpenRetryOptions.MaxRetryAttempts"/>: 3 retries (4 attempts in all).</summary>
    internal const int OpenMaxRetryAttempts = 3;

    /// <summary>Highest accepted <see cref="Resilience.SqlOpenRetryOptions.MaxRetryAttempts"/>.</summary>
    internal const int OpenMaxRetryAttemptsLimit = 10;

    /// <summary>Default of <see cref="Resilience.SqlOpenRetryOptions.BaseDelay"/>, in milliseconds: 1 second.</summary>
    internal const int OpenBaseDelayMilliseconds = 1000;

    /// <summary>Default of <see cref="Resilience.SqlOpenRetryOptions.MaxDelay"/>, in seconds: 30 seconds.</summary>
    internal const int OpenMaxDelaySeconds = 30;

    /// <summary>
    /// Default of <see cref="Resilience.SqlOpenRetryOptions.SocketExhaustionDelay"/>, in seconds: 30 seconds, half of
    /// Linux's TIME_WAIT (TCP_TIMEWAIT_LEN, 60 s), so the oldest ports of a burst have been released.
    /// </summary>
    internal const int OpenSocketExhaustionDelaySeconds = 30;

    /// <summary>Lowest accepted delay, as a <see cref="TimeSpan"/> string.</summary>
    internal const string MinRetryDelay = "00:00:00";

    /// <summary>Highest accepted <see cref="Resilience.SqlOpenRetryOptions.BaseDelay"/>: 1 minute.</summary>
    internal const string MaxBaseDelay = "00:01:00";

    /// <summary>Lowest accepted <see cref="Resilience.SqlOpenRetryOptions.MaxDelay"/>: 1 millisecond.</summary>
    internal const string MinMaxDelay = "00:00:00.001";

    /// <summary>Highest accepted <see cref="Resilience.SqlOpenRetryOptions.MaxDelay"/> and <see cref="Resilience.SqlOpenRetryOptions.SocketExhaustionDelay"/>: 10 minutes.</summary>
    internal const string MaxRetryDelay = "00:10:00";

    /// <summary>
    /// SqlClient's pool blocking period after a failed open: 5 s, doubled after each further failure, capped at 60 s
    /// (<c>ERROR_WAIT_DEFAULT</c> and <c>CreateObject</c> in dotnet/SqlClient v6.1.x src/.../ConnectionPool/WaitHandleDbConnectionPool.cs; unchanged through 7.1.1).
    /// </summary>
    internal const int PoolBlockingPeriodInitialSeconds = 5;

    /// <summary>The cap of SqlClient's pool blocking period: 60 s.</summary>
    internal const int PoolBlockingPeriodMaxSeconds = 60;

    /// <summary>
    /// The longest the classifier's diagnostic connect (and the DNS lookup that points it at the server) may take: 500 ms. A
    /// refused or port-exhausted connect fails at once; only a silent host uses the whole bound.
    /// </summary>
    internal const int DiagnosticConnectTimeoutMilliseconds = 500;

    /// <summary>The name of every SafeSql resilience pipeline ("SafeSql"); its instance name is the options name.</summary>
    internal const string PipelineName = "SafeSql";

    /// <summary>The name of the open retry strategy inside the pipeline.</summary>
    internal const string OpenRetryStrategyName = "SafeSqlOpenRetry";

    /// <summary>The default name of a retry strategy added by <c>AddSqlRetry</c>.</summary>
    internal const string RetryStrategyName = "SafeSqlRetry";
}

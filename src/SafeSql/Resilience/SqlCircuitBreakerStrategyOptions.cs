using System.ComponentModel.DataAnnotations;

using Polly;
using Polly.CircuitBreaker;

namespace SafeSql;

/// <summary>
/// Polly's circuit-breaker options with SafeSql's classification as <see cref="CircuitBreakerStrategyOptions{TResult}.ShouldHandle"/>:
/// only failures that mean "the server is unavailable" count (see <see cref="IsServerUnavailable"/>); leaks, pool timeouts of a
/// full pool, authentication, certificate and permanent errors never open the breaker.
/// </summary>
/// <remarks>
/// <para>
/// The data source (<c>SafeSqlOptions.CircuitBreaker</c>) puts the breaker outside its open retry, so it counts whole
/// opens, each after its retries: a restart of a few seconds is ridden through by the retry and never opens it. When it opens,
/// every open of the data source fails at once with <see cref="SqlServerUnavailableException"/>
/// (<see cref="SqlFailureKind.CircuitOpen"/>), one probe every <see cref="ProbeInterval"/> (a TCP connect and a PRELOGIN
/// exchange, one at a time) watches for the server, and the first answer closes the breaker. Polly's own half-open trial (one
/// real open after <see cref="CircuitBreakerStrategyOptions{TResult}.BreakDuration"/>) stays as the way back where no probe
/// can run (a named instance, a pipe).
/// </para>
/// <para>
/// With the breaker on, SafeSql normalizes the connection string with <c>Pool Blocking Period=NeverBlock</c> unless it sets
/// <c>Pool Blocking Period</c> itself: SqlClient's blocking period (5 s after a failed open, doubling to 60 s) would otherwise
/// keep failing opens for up to a minute after the server is back (dotnet/SqlClient DbConnectionPool, <c>ERROR_WAIT_DEFAULT</c>).
/// The breaker takes its place: it fails fast while the server is down and stops as soon as a probe sees it back.
/// </para>
/// <para>
/// Everything Polly offers applies as Polly documents it; only the defaults differ: <c>Name</c> "SafeSqlCircuitBreaker",
/// <c>FailureRatio</c> 0.5, <c>MinimumThroughput</c> 2, <c>SamplingDuration</c> 30 s, <c>BreakDuration</c> 5 s (Polly's).
/// </para>
/// </remarks>
public class SqlCircuitBreakerStrategyOptions : CircuitBreakerStrategyOptions
{
    // Azure SQL reconfiguration and failover (40613, 40197, 40501, 49918-49920) and a database that is not available yet
    // while it recovers (4060, 4221): TransientSqlErrors lists each with its source.
    private static readonly int[] s_unavailableServerErrors = [4060, 4221, 40197, 40501, 40613, 49918, 49919, 49920];

    /// <summary>The default <c>ShouldHandle</c>: the exception's classification, <see cref="IsServerUnavailable"/>. The data source
    /// replaces it (it knows the server and each attempt's classification); a <c>ShouldHandle</c> of yours is kept.</summary>
    internal static readonly Func<CircuitBreakerPredicateArguments<object>, ValueTask<bool>> DefaultShouldHandle =
        static args => new ValueTask<bool>(args.Outcome.Exception is { } exception && IsServerUnavailable(SqlFailureClassifier.Classify(exception)));

    /// <summary>Initializes a new instance of the <see cref="SqlCircuitBreakerStrategyOptions"/> class with SafeSql's defaults.</summary>
    public SqlCircuitBreakerStrategyOptions()
    {
        Name = "SafeSqlCircuitBreaker";
        FailureRatio = 0.5;
        MinimumThroughput = 2;
        SamplingDuration = TimeSpan.FromSeconds(30);
        BreakDuration = TimeSpan.FromSeconds(5);
        ShouldHandle = DefaultShouldHandle;
    }

    /// <summary>Gets or sets how often the probe checks the server while the breaker is open.</summary>
    /// <value>The default value is 250 milliseconds, so service resumes within about a quarter of a second of the server answering. Accepted range: 50 ms to 1 minute.</value>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Determines whether a classified failure means that the server is unavailable: a refused connect, an unreachable network
    /// (transient), a connect timeout (SafeSql calls a connect timeout towards a server that is seen accepting a
    /// <see cref="SqlFailureKind.ListenBacklogOverflow"/> instead), a connection broken while opening, a pool timeout of a pool
    /// that was not full (the open queued behind SqlClient's creation of a connection towards a server that does not answer;
    /// a pool timeout with every connection leased is a leak and never counts), and the server errors of a failover or a
    /// database that is not available yet (4060, 4221, 40197, 40501, 40613, 49918, 49919, 49920).
    /// </summary>
    /// <param name="failure">The classified failure.</param>
    /// <returns><see langword="true"/> when the failure counts towards opening the breaker.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="failure"/> is <see langword="null"/>.</exception>
    public static bool IsServerUnavailable(SqlFailure failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return failure.Kind switch
        {
            SqlFailureKind.ConnectionRefused or SqlFailureKind.ConnectTimeout => true,
            SqlFailureKind.NetworkUnreachable => failure.IsTransient,
            SqlFailureKind.ConnectionBroken => !failure.MayHaveExecuted,
            SqlFailureKind.PoolTimeout => failure.IsTransient, // queued behind a connection being created towards a server that does not answer; a full pool (a leak) never counts
            SqlFailureKind.TransientServerError => failure.SqlErrorNumber is { } number && Array.IndexOf(s_unavailableServerErrors, number) >= 0,
            _ => false,
        };
    }
}

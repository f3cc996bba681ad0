using System.ComponentModel.DataAnnotations;

using Microsoft.Extensions.Options;

using SafeSql.ConnectionStrings;

namespace SafeSql;

/// <summary>
/// Options of one SafeSql connection factory (one logical database). Bound from configuration or set in code, validated at
/// startup: the data annotations below, then the connection-string policy (<see cref="SqlConnectionStringPolicy"/>).
/// </summary>
/// <remarks>
/// Several databases are configured as named options (the name given to <c>AddSafeSql</c>); each name is validated on its own.
/// A failed validation stops the host at startup with an <see cref="OptionsValidationException"/> whose message names each
/// rule broken and its fix.
/// </remarks>
public class SafeSqlOptions
{
    /// <summary>Gets or sets the SQL Server connection string, as the application was given it.</summary>
    /// <value>Required. It is validated by <see cref="ConnectionStringPolicy"/> at startup and normalized, so every open
    /// shares one connection pool. The default value is <see langword="null"/>, which fails validation.</value>
    [Required(ErrorMessage = "{0} is not set. Pass the connection string to AddSafeSql, or bind it from configuration (the key \"ConnectionString\" of the section given to AddSafeSql).")]
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets the rules applied to <see cref="ConnectionString"/> at startup.</summary>
    /// <value>The default value is a <see cref="SqlConnectionStringPolicyOptions"/> with every rule at its documented default.</value>
    [Required]
    [ValidateObjectMembers]
    public SqlConnectionStringPolicyOptions ConnectionStringPolicy { get; set; } = new();

    /// <summary>Gets or sets how leases are tracked and when leaks are reported.</summary>
    /// <value>The default value is a <see cref="SqlConnectionLeakOptions"/> with its documented defaults.</value>
    [Required]
    [ValidateObjectMembers]
    public SqlConnectionLeakOptions Leaks { get; set; } = new();

    /// <summary>Gets or sets the retry applied to opening a connection (opening is idempotent), as Polly's options.</summary>
    /// <value>
    /// The default value is a <see cref="SqlRetryStrategyOptions"/> with its documented defaults (3 retries, 1 s exponential
    /// backoff with jitter, never sooner than SqlClient's pool blocking period). <see langword="null"/> turns retries off:
    /// every failed open is still classified, logged (event ids 3000, 3002) and counted, and rethrown at once.
    /// <see cref="SqlRetryStrategyOptions.IsIdempotent"/> and <see cref="SqlRetryStrategyOptions.CommandTimeout"/> do not
    /// apply to opens. Set them before the data source is created: it builds its open pipeline then.
    /// </value>
    [ValidateObjectMembers]
    public SqlRetryStrategyOptions? OpenRetry { get; set; } = new();

    /// <summary>Gets or sets the circuit breaker of the data source's opens, as Polly's options.</summary>
    /// <value>
    /// The default value is a <see cref="SqlCircuitBreakerStrategyOptions"/> with its documented defaults: when whole opens fail
    /// because the server is unavailable (refused, unreachable, connect timeouts, failover errors), the breaker opens and every
    /// open fails at once with <see cref="SqlServerUnavailableException"/> until a probe sees the server answer
    /// again (every 250 ms). With it on, the connection string gets <c>Pool Blocking Period=NeverBlock</c> unless it sets the
    /// keyword itself. <see langword="null"/> turns the breaker (and that normalization) off.
    /// </value>
    [ValidateObjectMembers]
    public SqlCircuitBreakerStrategyOptions? CircuitBreaker { get; set; } = new();

    /// <summary>Gets or sets the time budget of one open, retries and waits between them included.</summary>
    /// <value>
    /// The default value is <see langword="null"/>: the connection string's <c>Connect Timeout</c> (15 seconds unless set). No
    /// retry starts after the budget is spent; a retry or wait of an asynchronous open is ended when it runs out, and its caller
    /// gets the failure of the last attempt (the original exception). An asynchronous attempt SqlClient has not finished 1 second
    /// after the budget (its own timeouts, due with the budget by default, come first when on time) is left to SqlClient and fails
    /// with <see cref="SqlServerUnavailableException"/> (<c>ConnectTimeout</c>). A synchronous attempt cannot be
    /// interrupted: it can end up to one <c>Connect Timeout</c> past the budget. The caller's <see cref="CancellationToken"/> ends an asynchronous open at any
    /// point. Accepted range: 1 second to 10 minutes.
    /// </value>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan? OpenTimeout { get; set; }
}

using System.ComponentModel.DataAnnotations;

using SafeSql.Classification;

namespace SafeSql.Resilience;

/// <summary>
/// A retry for any SQL Server operation (a query, a command, a whole unit of work), driven by
/// <see cref="SqlFailureClassifier"/>. Added to a Polly pipeline with
/// <see cref="SafeSqlResiliencePipelineBuilderExtensions.AddSqlRetry(Polly.ResiliencePipelineBuilder, SqlRetryStrategyOptions, string?)"/>.
/// </summary>
/// <remarks>
/// <para>
/// Every option of <see cref="SqlOpenRetryOptions"/> applies. In addition, a failure that may have executed on the server
/// (<see cref="SqlFailure.MayHaveExecuted"/>: a command timeout, a connection broken after the request was sent, a deadlock
/// or other server error raised while executing) is retried only when <see cref="IsIdempotent"/> is <see langword="true"/>:
/// repeating a non-idempotent write that did commit would apply it twice. Failures while opening are always safe to retry.
/// </para>
/// <para>
/// Mark an operation idempotent when repeating it has the same effect as running it once: a read, an upsert keyed on a
/// natural key, or a delegate that runs a whole transaction (the server rolls a failed transaction back).
/// </para>
/// </remarks>
public class SqlRetryStrategyOptions : SqlOpenRetryOptions
{
    /// <summary>Gets or sets the name of the retry strategy, reported in Polly's telemetry.</summary>
    /// <value>The default value is "SafeSqlRetry".</value>
    public string? Name { get; set; } = SafeSqlDefaults.RetryStrategyName;

    /// <summary>Gets or sets a value indicating whether the operation may safely run more than once.</summary>
    /// <value>
    /// The default value is <see langword="false"/>: only failures that happened before anything was sent to the server are
    /// retried. <see langword="true"/> also retries transient failures that may have executed, and
    /// <see cref="SqlFailureKind.CommandTimeout"/> as set by <see cref="CommandTimeout"/>.
    /// </value>
    public bool IsIdempotent { get; set; }

    /// <summary>Gets or sets how a <see cref="SqlFailureKind.CommandTimeout"/> (error -2 while executing) is handled when <see cref="IsIdempotent"/> is <see langword="true"/>.</summary>
    /// <value>
    /// The default value is <see cref="SqlRetryBehavior.Retry"/>. Ignored (never retried) when <see cref="IsIdempotent"/> is
    /// <see langword="false"/>: the command may have completed ("can be thrown even if the operation completed successfully",
    /// EF Core SqlServerTransientExceptionDetector). Set <see cref="SqlRetryBehavior.DoNotRetry"/> when timeouts come from slow
    /// queries rather than from transient blocking: each retry can take another whole <c>CommandTimeout</c>.
    /// </value>
    [EnumDataType(typeof(SqlRetryBehavior))]
    public SqlRetryBehavior CommandTimeout { get; set; } = SqlRetryBehavior.Retry;
}

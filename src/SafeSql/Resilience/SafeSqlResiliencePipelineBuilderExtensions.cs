using System.ComponentModel.DataAnnotations;

using Polly;
using Polly.Retry;

namespace SafeSql;

/// <summary>
/// Adds SafeSql's classification-driven retries to Polly v8 pipelines: jittered exponential backoff for refusals, connect
/// timeouts and transient server errors, one long-delayed retry for ephemeral port exhaustion, nothing for pool timeouts,
/// authentication failures and permanent errors, and nothing that may have executed unless the operation is idempotent.
/// </summary>
/// <remarks>
/// <para>
/// After the last attempt Polly rethrows the original exception untouched (same instance, stack and <c>Number</c>), so
/// existing <c>catch (SqlException ex) when (ex.Number == 1205)</c> code keeps working.
/// </para>
/// <para>
/// Delays use the builder's <see cref="ResiliencePipelineBuilderBase.TimeProvider"/>. For Polly's telemetry
/// (<c>resilience.polly.*</c>) with the failure kind, call <c>ConfigureTelemetry</c> with <see cref="SqlFailureMeteringEnricher"/>
/// among the metering enrichers; the data source's own open pipeline (named "SafeSql", instance = the options name) does.
/// The same options can go to Polly's <c>AddRetry</c> directly; these methods add what the connection string tells: the
/// server (for the OS evidence) and SqlClient's pool blocking period.
/// </para>
/// </remarks>
public static class SafeSqlResiliencePipelineBuilderExtensions
{
    /// <summary>Adds the retry SafeSql uses for opening connections (opening is idempotent: nothing was sent before the login).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="options">Which kinds to retry and how long to wait.</param>
    /// <param name="connectionString">
    /// The connection string the delegate opens, or <see langword="null"/>. Only <c>Data Source</c> (to point the socket-exhaustion
    /// probe at the server), <c>Pooling</c> and <c>Pool Blocking Period</c> are read; the string is not kept. When
    /// <see langword="null"/>, SqlClient's defaults are assumed (pooling with a blocking period).
    /// </param>
    /// <returns>The same builder instance so that multiple calls can be chained.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ValidationException"><paramref name="options"/> has a value outside its documented range.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="connectionString"/> cannot be parsed by <c>SqlConnectionStringBuilder</c> (for example an unquoted value
    /// containing <c>;</c>, or <c>Pooling=1</c>), whichever exception SqlClient throws for it (ArgumentException,
    /// FormatException, OverflowException, NotSupportedException, InvalidOperationException). The message is fixed and there is
    /// no inner exception: SqlClient's message can quote part of a password.
    /// <see cref="ConnectionStrings.SqlConnectionStringPolicy.Validate"/> names the rule that fails.
    /// </exception>
    public static ResiliencePipelineBuilder AddSqlOpenRetry(this ResiliencePipelineBuilder builder, SqlRetryStrategyOptions options, string? connectionString = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);
        return builder.AddRetry(ForPipeline(options, new SqlRetryPolicy(options, SqlOperationPhase.Open, connectionString)));
    }

    /// <summary>Adds the retry SafeSql uses for opening connections to a pipeline that returns a result (for example the <c>SqlConnection</c>).</summary>
    /// <typeparam name="TResult">The pipeline's result type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="options">Which kinds to retry and how long to wait.</param>
    /// <param name="connectionString">The connection string the delegate opens (see <see cref="AddSqlOpenRetry(ResiliencePipelineBuilder, SqlRetryStrategyOptions, string?)"/>), or <see langword="null"/>.</param>
    /// <returns>The same builder instance so that multiple calls can be chained.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ValidationException"><paramref name="options"/> has a value outside its documented range.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="connectionString"/> cannot be parsed by <c>SqlConnectionStringBuilder</c> (for example an unquoted value
    /// containing <c>;</c>, or <c>Pooling=1</c>), whichever exception SqlClient throws for it (ArgumentException,
    /// FormatException, OverflowException, NotSupportedException, InvalidOperationException). The message is fixed and there is
    /// no inner exception: SqlClient's message can quote part of a password.
    /// <see cref="ConnectionStrings.SqlConnectionStringPolicy.Validate"/> names the rule that fails.
    /// </exception>
    public static ResiliencePipelineBuilder<TResult> AddSqlOpenRetry<TResult>(this ResiliencePipelineBuilder<TResult> builder, SqlRetryStrategyOptions options, string? connectionString = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);
        return builder.AddRetry(ForPipeline<TResult>(options, new SqlRetryPolicy(options, SqlOperationPhase.Open, connectionString)));
    }

    /// <summary>Adds a retry for any SQL Server operation (queries, commands, whole units of work).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="options">Which kinds to retry, how long to wait, and whether the operation is idempotent.</param>
    /// <param name="connectionString">
    /// The connection string the operation uses, or <see langword="null"/>. Only <c>Data Source</c>, <c>Pooling</c> and
    /// <c>Pool Blocking Period</c> are read; the string is not kept.
    /// </param>
    /// <returns>The same builder instance so that multiple calls can be chained.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ValidationException"><paramref name="options"/> has a value outside its documented range.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="connectionString"/> cannot be parsed by <c>SqlConnectionStringBuilder</c> (for example an unquoted value
    /// containing <c>;</c>, or <c>Pooling=1</c>), whichever exception SqlClient throws for it (ArgumentException,
    /// FormatException, OverflowException, NotSupportedException, InvalidOperationException). The message is fixed and there is
    /// no inner exception: SqlClient's message can quote part of a password.
    /// <see cref="ConnectionStrings.SqlConnectionStringPolicy.Validate"/> names the rule that fails.
    /// </exception>
    public static ResiliencePipelineBuilder AddSqlRetry(this ResiliencePipelineBuilder builder, SqlRetryStrategyOptions options, string? connectionString = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);
        return builder.AddRetry(ForPipeline(options, new SqlRetryPolicy(options, SqlOperationPhase.Unknown, connectionString)));
    }

    /// <summary>Adds a retry for any SQL Server operation to a pipeline that returns a result.</summary>
    /// <typeparam name="TResult">The pipeline's result type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="options">Which kinds to retry, how long to wait, and whether the operation is idempotent.</param>
    /// <param name="connectionString">The connection string the operation uses (see <see cref="AddSqlRetry(ResiliencePipelineBuilder, SqlRetryStrategyOptions, string?)"/>), or <see langword="null"/>.</param>
    /// <returns>The same builder instance so that multiple calls can be chained.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ValidationException"><paramref name="options"/> has a value outside its documented range.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="connectionString"/> cannot be parsed by <c>SqlConnectionStringBuilder</c> (for example an unquoted value
    /// containing <c>;</c>, or <c>Pooling=1</c>), whichever exception SqlClient throws for it (ArgumentException,
    /// FormatException, OverflowException, NotSupportedException, InvalidOperationException). The message is fixed and there is
    /// no inner exception: SqlClient's message can quote part of a password.
    /// <see cref="ConnectionStrings.SqlConnectionStringPolicy.Validate"/> names the rule that fails.
    /// </exception>
    public static ResiliencePipelineBuilder<TResult> AddSqlRetry<TResult>(this ResiliencePipelineBuilder<TResult> builder, SqlRetryStrategyOptions options, string? connectionString = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);
        return builder.AddRetry(ForPipeline<TResult>(options, new SqlRetryPolicy(options, SqlOperationPhase.Unknown, connectionString)));
    }

    /// <summary>Adds a prepared policy (the data source's open pipeline, with its observer).</summary>
    internal static ResiliencePipelineBuilder AddSqlRetry(this ResiliencePipelineBuilder builder, SqlRetryStrategyOptions options, SqlRetryPolicy policy) =>
        builder.AddRetry(ForPipeline(options, policy));

    private static RetryStrategyOptions ForPipeline(SqlRetryStrategyOptions options, SqlRetryPolicy policy)
    {
        var retry = new RetryStrategyOptions();
        options.ApplyTo(retry, policy);
        return retry;
    }

    private static RetryStrategyOptions<TResult> ForPipeline<TResult>(SqlRetryStrategyOptions options, SqlRetryPolicy policy)
    {
        var retry = new RetryStrategyOptions<TResult>();
        options.ApplyTo(retry, policy);
        return retry;
    }
}

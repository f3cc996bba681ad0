using System.ComponentModel.DataAnnotations;

using Polly;
using Polly.Retry;

namespace SafeSql;

/// <summary>
/// Polly's retry options with SafeSql's classification as <see cref="RetryStrategyOptions{TResult}.ShouldHandle"/> and
/// <see cref="RetryStrategyOptions{TResult}.DelayGenerator"/>: transient failures (a refused connection, a connect timeout,
/// 1205, 40613...) are retried with Polly's jittered exponential backoff, ephemeral port exhaustion once after a long delay,
/// and pool timeouts, authentication, certificate and permanent errors never.
/// </summary>
/// <remarks>
/// <para>
/// Everything Polly offers applies as Polly documents it (<see cref="RetryStrategyOptions{TResult}.MaxRetryAttempts"/>,
/// <see cref="RetryStrategyOptions{TResult}.Delay"/>, <see cref="RetryStrategyOptions{TResult}.MaxDelay"/>,
/// <see cref="RetryStrategyOptions{TResult}.BackoffType"/>, <see cref="RetryStrategyOptions{TResult}.UseJitter"/>,
/// <see cref="RetryStrategyOptions{TResult}.OnRetry"/>); only the defaults differ (below). The options can go straight to
/// Polly (<c>builder.AddRetry(new SqlRetryStrategyOptions())</c>);
/// <see cref="SafeSqlResiliencePipelineBuilderExtensions.AddSqlRetry(ResiliencePipelineBuilder, SqlRetryStrategyOptions, string?)"/>
/// also tells the classifier which server the operation talks to and whether SqlClient's pool blocking period applies.
/// Replacing <c>ShouldHandle</c> or <c>DelayGenerator</c> replaces SafeSql's decision with yours.
/// </para>
/// <para>
/// Never retried, whatever these options say: <see cref="SqlFailureKind.PoolTimeout"/> (the caller already waited
/// <c>Connect Timeout</c>; the fix is to dispose leaked connections), <see cref="SqlFailureKind.AuthenticationFailure"/>,
/// <see cref="SqlFailureKind.EncryptionFailure"/>, <see cref="SqlFailureKind.Permanent"/>, <see cref="SqlFailureKind.Unknown"/>,
/// a failure that is not transient (<see cref="SqlFailure.IsTransient"/>), and a cancellation by the caller. A failure that
/// may have executed on the server (<see cref="SqlFailure.MayHaveExecuted"/>) is retried only when
/// <see cref="IsIdempotent"/> is <see langword="true"/>; failures while opening never executed anything. After the last
/// attempt Polly rethrows the original exception untouched (same instance, same <c>Number</c>).
/// </para>
/// <para>
/// SqlClient's pool blocking period: after a pooled open fails, SqlClient rethrows (a copy of) that error to every open of the
/// pool, without trying, for 5 s, doubling after each further failure up to 60 s (dotnet/SqlClient v6.1.x
/// DbConnectionPool.cs). It is on when <c>Pool Blocking Period</c> is <c>AlwaysBlock</c>, or <c>Auto</c> (the default) and the
/// server is not an Azure SQL endpoint. A retry inside the period would fail at once without reaching the server, so when the
/// connection string is known and the period applies, a retry of a failed open waits at least the period (5 s, 10 s, 20 s,
/// 40 s, then 60 s, +2 to 10 %), not capped by <c>MaxDelay</c>. For quicker retries set <c>Pool Blocking Period=NeverBlock</c>.
/// </para>
/// </remarks>
public partial class SqlRetryStrategyOptions : RetryStrategyOptions
{
    private readonly Func<RetryPredicateArguments<object>, ValueTask<bool>> _defaultShouldHandle;
    private readonly Func<RetryDelayGeneratorArguments<object>, ValueTask<TimeSpan?>> _defaultDelayGenerator;
    private SqlRetryPolicy? _defaultPolicy;

    /// <summary>Initializes a new instance of the <see cref="SqlRetryStrategyOptions"/> class with SafeSql's defaults.</summary>
    /// <remarks>
    /// Polly's own settings start at: <c>Name</c> "SafeSqlRetry", <c>MaxRetryAttempts</c> 3 (4 attempts in all),
    /// <c>Delay</c> 1 second, <c>BackoffType</c> <see cref="DelayBackoffType.Exponential"/>, <c>UseJitter</c>
    /// <see langword="true"/> (so that many callers failing together do not retry together), <c>MaxDelay</c> 30 seconds.
    /// </remarks>
    public SqlRetryStrategyOptions()
    {
        Name = RetryDefaults.RetryStrategyName;
        MaxRetryAttempts = RetryDefaults.MaxRetryAttempts;
        Delay = TimeSpan.FromMilliseconds(RetryDefaults.DelayMilliseconds);
        MaxDelay = TimeSpan.FromSeconds(RetryDefaults.MaxDelaySeconds);
        BackoffType = DelayBackoffType.Exponential;
        UseJitter = true;
        _defaultShouldHandle = args => DefaultPolicy.ShouldHandleAsync(args);
        _defaultDelayGenerator = args => DefaultPolicy.GenerateDelayAsync(args);
        ShouldHandle = _defaultShouldHandle;
        DelayGenerator = _defaultDelayGenerator;
    }

    /// <summary>Gets or sets a value indicating whether the operation may safely run more than once.</summary>
    /// <value>
    /// The default value is <see langword="false"/>: only failures that happened before anything was sent to the server are
    /// retried. <see langword="true"/> also retries transient failures that may have executed, and
    /// <see cref="SqlFailureKind.CommandTimeout"/> as set by <see cref="CommandTimeout"/>. Opening a connection is always
    /// idempotent, so the data source's open retry ignores this value.
    /// </value>
    /// <remarks>
    /// Mark an operation idempotent when repeating it has the same effect as running it once: a read, an upsert keyed on a
    /// natural key, or a delegate that runs a whole transaction (the server rolls a failed transaction back).
    /// </remarks>
    public bool IsIdempotent { get; set; }

    /// <summary>Gets or sets the delay before the single retry of <see cref="SqlFailureKind.SocketExhaustion"/> (<see cref="SqlRetryBehavior.RetryOnceAfterLongDelay"/>).</summary>
    /// <value>
    /// The default value is 30 seconds, half of Linux's TIME_WAIT (60 s; 120 s on Windows, 240 s before Windows Server 2003),
    /// jittered by ±20 % and not capped by <c>MaxDelay</c>. Accepted range: 0 to 10 minutes.
    /// </value>
    [Range(typeof(TimeSpan), RetryDefaults.MinRetryDelay, RetryDefaults.MaxRetryDelay)]
    public TimeSpan SocketExhaustionDelay { get; set; } = TimeSpan.FromSeconds(RetryDefaults.SocketExhaustionDelaySeconds);

    /// <summary>Gets or sets how a <see cref="SqlFailureKind.ConnectionRefused"/> failure is handled (server down or restarting).</summary>
    /// <value>The default value is <see cref="SqlRetryBehavior.Retry"/>.</value>
    [EnumDataType(typeof(SqlRetryBehavior))]
    public SqlRetryBehavior ConnectionRefused { get; set; } = SqlRetryBehavior.Retry;

    /// <summary>Gets or sets how a <see cref="SqlFailureKind.ListenBacklogOverflow"/> failure is handled (the server's accept queue was full).</summary>
    /// <value>
    /// The default value is <see cref="SqlRetryBehavior.Retry"/>, with Polly's jittered backoff (<c>UseJitter</c>) so that clients
    /// rejected by the same burst do not retry in step and overflow the backlog again.
    /// </value>
    [EnumDataType(typeof(SqlRetryBehavior))]
    public SqlRetryBehavior ListenBacklogOverflow { get; set; } = SqlRetryBehavior.Retry;

    /// <summary>Gets or sets how a <see cref="SqlFailureKind.ConnectTimeout"/> failure is handled (SqlException 258 on SqlClient 6.1+: a dropped SYN).</summary>
    /// <value>
    /// The default value is <see cref="SqlRetryBehavior.Retry"/>. Each attempt can take the whole <c>Connect Timeout</c>
    /// (default 15 s), so with the defaults a server that never answers costs up to 4 × 15 s plus the delays.
    /// </value>
    [EnumDataType(typeof(SqlRetryBehavior))]
    public SqlRetryBehavior ConnectTimeout { get; set; } = SqlRetryBehavior.Retry;

    /// <summary>Gets or sets how a <see cref="SqlFailureKind.ConnectionBroken"/> failure is handled.</summary>
    /// <value>The default value is <see cref="SqlRetryBehavior.Retry"/> (only while opening, or when <see cref="IsIdempotent"/>).</value>
    [EnumDataType(typeof(SqlRetryBehavior))]
    public SqlRetryBehavior ConnectionBroken { get; set; } = SqlRetryBehavior.Retry;

    /// <summary>Gets or sets how a <see cref="SqlFailureKind.TransientServerError"/> is handled (for example 40613 during an Azure failover).</summary>
    /// <value>The default value is <see cref="SqlRetryBehavior.Retry"/>. The numbers are listed in <see cref="TransientSqlErrors"/>.</value>
    [EnumDataType(typeof(SqlRetryBehavior))]
    public SqlRetryBehavior TransientServerError { get; set; } = SqlRetryBehavior.Retry;

    /// <summary>Gets or sets how a transient <see cref="SqlFailureKind.NetworkUnreachable"/> failure (a DNS or routing hiccup) is handled.</summary>
    /// <value>
    /// The default value is <see cref="SqlRetryBehavior.Retry"/>. An address this host cannot use at all (EADDRNOTAVAIL without
    /// port exhaustion) is not transient and is never retried.
    /// </value>
    [EnumDataType(typeof(SqlRetryBehavior))]
    public SqlRetryBehavior NetworkUnreachable { get; set; } = SqlRetryBehavior.Retry;

    /// <summary>Gets or sets how <see cref="SqlFailureKind.SocketExhaustion"/> is handled.</summary>
    /// <value>
    /// The default value is <see cref="SqlRetryBehavior.RetryOnceAfterLongDelay"/>: one retry after
    /// <see cref="SocketExhaustionDelay"/>. A quick retry cannot succeed before TIME_WAIT releases ports and takes one more.
    /// </value>
    [EnumDataType(typeof(SqlRetryBehavior))]
    public SqlRetryBehavior SocketExhaustion { get; set; } = SqlRetryBehavior.RetryOnceAfterLongDelay;

    /// <summary>Gets or sets how a <see cref="SqlFailureKind.CommandTimeout"/> (error -2 while executing) is handled when <see cref="IsIdempotent"/> is <see langword="true"/>.</summary>
    /// <value>
    /// The default value is <see cref="SqlRetryBehavior.Retry"/>. Ignored (never retried) when <see cref="IsIdempotent"/> is
    /// <see langword="false"/>: the command may have completed ("can be thrown even if the operation completed successfully",
    /// EF Core SqlServerTransientExceptionDetector). Set <see cref="SqlRetryBehavior.DoNotRetry"/> when timeouts come from slow
    /// queries rather than from transient blocking: each retry can take another whole <c>CommandTimeout</c>.
    /// </value>
    [EnumDataType(typeof(SqlRetryBehavior))]
    public SqlRetryBehavior CommandTimeout { get; set; } = SqlRetryBehavior.Retry;

    /// <summary>The policy behind the default delegates when the options go to Polly directly (no connection string known).</summary>
    private SqlRetryPolicy DefaultPolicy => _defaultPolicy ??= new SqlRetryPolicy(this, SqlOperationPhase.Unknown, connectionString: null);

    /// <summary>
    /// Fills <paramref name="target"/>, the Polly options of one pipeline, with these options and SafeSql's delegates bound to
    /// <paramref name="policy"/> (which knows the operation's phase, the server and the observer). A <c>ShouldHandle</c> or
    /// <c>DelayGenerator</c> the caller replaced is kept; a caller's <c>OnRetry</c> runs after SafeSql's.
    /// </summary>
    internal void ApplyTo<TResult>(RetryStrategyOptions<TResult> target, SqlRetryPolicy policy)
    {
        var userShouldHandle = ShouldHandle;
        var userDelayGenerator = DelayGenerator;
        var userOnRetry = OnRetry;
        target.Name = Name;
        target.MaxRetryAttempts = MaxRetryAttempts;
        target.Delay = Delay;
        target.MaxDelay = MaxDelay;
        target.BackoffType = BackoffType;
        target.UseJitter = UseJitter;
        target.Randomizer = Randomizer;
        target.ShouldHandle = ReferenceEquals(userShouldHandle, _defaultShouldHandle)
            ? policy.ShouldHandleAsync
            : args => userShouldHandle(new RetryPredicateArguments<object>(args.Context, ToObject(args.Outcome), args.AttemptNumber));
        target.DelayGenerator = ReferenceEquals(userDelayGenerator, _defaultDelayGenerator)
            ? policy.GenerateDelayAsync
            : userDelayGenerator is null ? null : args => userDelayGenerator(new RetryDelayGeneratorArguments<object>(args.Context, ToObject(args.Outcome), args.AttemptNumber));
        target.OnRetry = args =>
        {
            policy.OnRetry(args.Context, args.AttemptNumber, args.RetryDelay);
            return userOnRetry is null
                ? default
                : userOnRetry(new OnRetryArguments<object>(args.Context, ToObject(args.Outcome), args.AttemptNumber, args.RetryDelay, args.Duration));
        };
    }

    private static Outcome<object> ToObject<TResult>(Outcome<TResult> outcome) =>
        outcome.Exception is { } exception ? Outcome.FromException<object>(exception) : Outcome.FromResult<object>(outcome.Result);
}

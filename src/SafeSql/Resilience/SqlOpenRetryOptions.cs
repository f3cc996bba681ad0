using System.ComponentModel.DataAnnotations;

using SafeSql.Classification;

namespace SafeSql.Resilience;

/// <summary>
/// The retry SafeSql applies when opening a connection (<c>ISqlConnectionFactory.Open</c>/<c>OpenAsync</c>), driven by
/// <see cref="SqlFailureClassifier"/>: which failure kinds are retried, and how long to wait.
/// </summary>
/// <remarks>
/// <para>
/// Opening is idempotent (nothing is sent to the server before the login completes), so every transient kind is retried by
/// default. Never retried, whatever these options say: <see cref="SqlFailureKind.PoolTimeout"/> (the caller already waited
/// <c>Connect Timeout</c> for a pooled connection; retrying doubles the wait and lengthens the queue, and the fix is to
/// dispose leaked connections), <see cref="SqlFailureKind.AuthenticationFailure"/>, <see cref="SqlFailureKind.Permanent"/>,
/// <see cref="SqlFailureKind.Unknown"/> and any failure that is not transient (<see cref="SqlFailure.IsTransient"/>).
/// After the last attempt the original exception is rethrown untouched (same instance, same <c>Number</c>).
/// </para>
/// <para>
/// SqlClient's pool blocking period: after a pooled open fails, SqlClient rethrows (a copy of) that error to every open of the
/// pool, without trying, for 5 s; each further failure doubles the period up to 60 s (dotnet/SqlClient v6.1.x
/// DbConnectionPool.cs). It is on when <c>Pool Blocking Period</c> is <c>AlwaysBlock</c>, or <c>Auto</c> (the default) and the
/// server is not an Azure SQL endpoint (<c>*.database.windows.net</c> and the sovereign clouds). A retry inside the period
/// would fail at once without reaching the server, so SafeSql never retries a failed open sooner than the period: the
/// retries wait at least 5 s, 10 s, 20 s, 40 s, then 60 s. For quicker retries set <c>Pool Blocking Period=NeverBlock</c> in
/// the connection string (supported by every Microsoft.Data.SqlClient on .NET); SafeSql's jittered backoff then spaces the attempts.
/// </para>
/// <para>The factory reads these options once, when it is created; later changes are not observed.</para>
/// </remarks>
public class SqlOpenRetryOptions
{
    /// <summary>Gets or sets a value indicating whether failed opens are retried.</summary>
    /// <value>
    /// The default value is <see langword="true"/>. When <see langword="false"/>, every failure is still classified, logged and
    /// counted (<c>db.client.connection.safesql.failures</c>), and rethrown at once.
    /// </value>
    public bool Enabled { get; set; } = true;

    /// <summary>Gets or sets how many times a failed open is retried (the first attempt is not counted).</summary>
    /// <value>The default value is 3 (up to 4 attempts). Accepted range: 1 to 10.</value>
    [Range(1, SafeSqlDefaults.OpenMaxRetryAttemptsLimit)]
    public int MaxRetryAttempts { get; set; } = SafeSqlDefaults.OpenMaxRetryAttempts;

    /// <summary>Gets or sets the delay before the first retry of a <see cref="SqlRetryBehavior.Retry"/> kind; each further retry doubles it.</summary>
    /// <value>
    /// The default value is 1 second. Each delay is jittered by ±20 % so that many callers failing together do not retry
    /// together. Accepted range: 0 to 1 minute.
    /// </value>
    [Range(typeof(TimeSpan), SafeSqlDefaults.MinRetryDelay, SafeSqlDefaults.MaxBaseDelay)]
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(SafeSqlDefaults.OpenBaseDelayMilliseconds);

    /// <summary>Gets or sets the longest backoff delay of a <see cref="SqlRetryBehavior.Retry"/> kind.</summary>
    /// <value>
    /// The default value is 30 seconds. The pool blocking period (up to 60 s) and <see cref="SocketExhaustionDelay"/> are not
    /// capped by it; a value below <see cref="BaseDelay"/> acts as <see cref="BaseDelay"/>. Accepted range: 1 millisecond to 10 minutes.
    /// </value>
    [Range(typeof(TimeSpan), SafeSqlDefaults.MinMaxDelay, SafeSqlDefaults.MaxRetryDelay)]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(SafeSqlDefaults.OpenMaxDelaySeconds);

    /// <summary>Gets or sets the delay before the single retry of <see cref="SqlFailureKind.SocketExhaustion"/> (<see cref="SqlRetryBehavior.RetryOnceAfterLongDelay"/>).</summary>
    /// <value>
    /// The default value is 30 seconds, half of Linux's TIME_WAIT (60 s; 120 s on Windows, 240 s before Windows Server 2003),
    /// jittered by ±20 %. Accepted range: 0 to 10 minutes.
    /// </value>
    [Range(typeof(TimeSpan), SafeSqlDefaults.MinRetryDelay, SafeSqlDefaults.MaxRetryDelay)]
    public TimeSpan SocketExhaustionDelay { get; set; } = TimeSpan.FromSeconds(SafeSqlDefaults.OpenSocketExhaustionDelaySeconds);

    /// <summary>Gets or sets how a <see cref="SqlFailureKind.ConnectionRefused"/> failure is handled (server down or restarting, backlog overflow).</summary>
    /// <value>The default value is <see cref="SqlRetryBehavior.Retry"/>.</value>
    [EnumDataType(typeof(SqlRetryBehavior))]
    public SqlRetryBehavior ConnectionRefused { get; set; } = SqlRetryBehavior.Retry;

    /// <summary>Gets or sets how a <see cref="SqlFailureKind.ConnectTimeout"/> failure is handled.</summary>
    /// <value>
    /// The default value is <see cref="SqlRetryBehavior.Retry"/>. Each attempt can take the whole <c>Connect Timeout</c>
    /// (default 15 s), so with the defaults a server that never answers costs up to 4 × 15 s plus the delays.
    /// </value>
    [EnumDataType(typeof(SqlRetryBehavior))]
    public SqlRetryBehavior ConnectTimeout { get; set; } = SqlRetryBehavior.Retry;

    /// <summary>Gets or sets how a <see cref="SqlFailureKind.ConnectionBroken"/> failure that happened while opening is handled.</summary>
    /// <value>The default value is <see cref="SqlRetryBehavior.Retry"/>.</value>
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
}

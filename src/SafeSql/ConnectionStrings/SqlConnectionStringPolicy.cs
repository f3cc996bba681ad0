namespace SafeSql.ConnectionStrings;

/// <summary>
/// Judges a SQL Server connection string against SafeSql's connection-string policy and normalizes it. Usable on its own (from
/// a command-line tool, a test or a deployment check) and run at startup by <c>AddSafeSql</c> through options validation.
/// </summary>
/// <remarks>
/// <para>
/// The string is read entry by entry in the order written (repeated keywords and empty values included) and applied to
/// Microsoft.Data.SqlClient's own <c>SqlConnectionStringBuilder</c> as that builder applies them, then checked with the builder
/// and <c>SqlConnection</c> themselves, so it is read exactly as SqlClient will read it. Refused by default: <c>Pooling=false</c> (SAFESQL004); <c>Connection Lifetime</c> above 0 without
/// the cluster opt-in (SAFESQL005, SAFESQL006); <c>Connect Timeout=0</c> or above 2 minutes (SAFESQL007, SAFESQL008);
/// <c>Max Pool Size</c> above 1000 (SAFESQL009); <c>Min Pool Size</c> above <c>Max Pool Size</c> (SAFESQL010); malformed
/// strings, unknown keywords and invalid values (SAFESQL001 to SAFESQL003); a missing <c>Data Source</c> (SAFESQL011). Each
/// rule, its reason and its source are in <see cref="SqlConnectionStringRules"/>; each threshold is in
/// <see cref="SqlConnectionStringPolicyOptions"/>.
/// </para>
/// <para>
/// No finding ever contains the password, nor anything that may be part of it: values are shown only for the keywords a rule
/// is about, and after an unquoted <c>Password</c> (or where another entry swallowed a <c>Password=</c>) only words of
/// SqlClient's own vocabulary are shown (known keywords, numbers, Booleans, named options), never free text, an unknown
/// keyword or a refused value. SqlClient's own parser messages are never passed through, because they can quote the string.
/// The rule is stated in <c>docs/connection-string-policy.md</c> ("Passwords").
/// </para>
/// </remarks>
public static class SqlConnectionStringPolicy
{
    /// <summary>Validates and normalizes a connection string.</summary>
    /// <param name="connectionString">The connection string as the application was given it.</param>
    /// <param name="options">The thresholds and opt-ins; <see langword="null"/> uses the documented defaults.</param>
    /// <returns>The findings (errors refuse the string, warnings only report) and, when the string is accepted, its normalized
    /// form (<see cref="SqlConnectionStringPolicyResult.NormalizedConnectionString"/>). A malformed string gives a finding, never
    /// an exception.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="connectionString"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A threshold of <paramref name="options"/> is out of its documented range (for
    /// example <see cref="SqlConnectionStringPolicyOptions.MaxPoolSizeLimit"/> below 1).</exception>
    public static SqlConnectionStringPolicyResult Validate(string connectionString, SqlConnectionStringPolicyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        options ??= new SqlConnectionStringPolicyOptions();
        ValidateOptions(options);
        return new SqlConnectionStringEvaluation(connectionString, options).Run();
    }

    private static void ValidateOptions(SqlConnectionStringPolicyOptions options)
    {
        if (options.MaxPoolSizeLimit is < 1 or > PolicyDefaults.SqlServerMaxUserConnections)
        {
            throw new ArgumentException(
                $"SqlConnectionStringPolicyOptions.MaxPoolSizeLimit is {options.MaxPoolSizeLimit}; it must be between 1 and {PolicyDefaults.SqlServerMaxUserConnections} (connections).",
                nameof(options));
        }

        CheckDuration(options.ConnectTimeoutLimit, nameof(SqlConnectionStringPolicyOptions.ConnectTimeoutLimit));
        CheckDuration(options.MinConnectionLifetime, nameof(SqlConnectionStringPolicyOptions.MinConnectionLifetime));
        if (options.ApplicationName is { Length: > PolicyDefaults.ApplicationNameMaxLength } name)
        {
            throw new ArgumentException(
                $"SqlConnectionStringPolicyOptions.ApplicationName is {name.Length} characters long; SQL Server accepts at most {PolicyDefaults.ApplicationNameMaxLength}.",
                nameof(options));
        }

        static void CheckDuration(TimeSpan value, string property)
        {
            if (value < TimeSpan.FromSeconds(1) || value > TimeSpan.FromDays(1))
            {
                throw new ArgumentException(
                    $"SqlConnectionStringPolicyOptions.{property} is {value}; it must be between 00:00:01 and 1.00:00:00.",
                    nameof(options));
            }
        }
    }
}

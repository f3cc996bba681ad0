using SafeSql.Classification;
using SafeSql.ConnectionStrings;
using SafeSql.Leases;

namespace SafeSql;

/// <summary>
/// Options of one SafeSql connection factory (one logical database). Bound from configuration or set in code,
/// validated at startup.
/// </summary>
public class SafeSqlOptions
{
    /// <summary>Gets or sets the SQL Server connection string, as the application was given it.</summary>
    /// <value>Required. It is validated by <see cref="ConnectionStringPolicy"/> at startup and normalized, so every open
    /// shares one connection pool. The default value is <see langword="null"/>, which fails validation.</value>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets the rules applied to <see cref="ConnectionString"/> at startup.</summary>
    /// <value>The default value is a <see cref="SqlConnectionStringPolicyOptions"/> with every rule at its documented default.</value>
    public SqlConnectionStringPolicyOptions ConnectionStringPolicy { get; set; } = new();

    /// <summary>Gets or sets how leases are tracked and when leaks are reported.</summary>
    /// <value>The default value is a <see cref="SqlConnectionLeakOptions"/> with its documented defaults.</value>
    public SqlConnectionLeakOptions Leaks { get; set; } = new();

    /// <summary>Gets or sets the retry applied to opening a connection (opening is idempotent).</summary>
    /// <value>The default value is a <see cref="SqlOpenRetryOptions"/> with its documented defaults.</value>
    public SqlOpenRetryOptions OpenRetry { get; set; } = new();
}

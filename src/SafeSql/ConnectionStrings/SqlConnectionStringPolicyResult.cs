namespace SafeSql.ConnectionStrings;

/// <summary>
/// The verdict of <see cref="SqlConnectionStringPolicy.Validate"/> on one connection string: its findings and, when it is
/// accepted, the normalized connection string to open connections with.
/// </summary>
public sealed class SqlConnectionStringPolicyResult
{
    internal SqlConnectionStringPolicyResult(
        IReadOnlyList<SqlConnectionStringFinding> findings,
        string? normalizedConnectionString,
        string displayedDataSource = "",
        string displayedInitialCatalog = "")
    {
        Findings = findings;
        IsAccepted = !findings.Any(f => f.Severity == SqlConnectionStringFindingSeverity.Error);
        NormalizedConnectionString = IsAccepted ? normalizedConnectionString : null;
        DisplayedDataSource = displayedDataSource;
        DisplayedInitialCatalog = displayedInitialCatalog;
    }

    /// <summary>Gets a value indicating whether the connection string is accepted (no finding is an error).</summary>
    /// <value><see langword="true"/> when every finding is a <see cref="SqlConnectionStringFindingSeverity.Warning"/> or
    /// there is none.</value>
    public bool IsAccepted { get; }

    /// <summary>Gets every rule broken, errors and warnings, in id order.</summary>
    /// <value>An empty list for a connection string that breaks no rule. No finding contains the password.</value>
    public IReadOnlyList<SqlConnectionStringFinding> Findings { get; }

    /// <summary>Gets the findings that refuse the connection string.</summary>
    /// <value>The findings whose severity is <see cref="SqlConnectionStringFindingSeverity.Error"/>.</value>
    public IEnumerable<SqlConnectionStringFinding> Errors => Findings.Where(f => f.Severity == SqlConnectionStringFindingSeverity.Error);

    /// <summary>Gets the findings that are reported but do not refuse the connection string.</summary>
    /// <value>The findings whose severity is <see cref="SqlConnectionStringFindingSeverity.Warning"/>.</value>
    public IEnumerable<SqlConnectionStringFinding> Warnings => Findings.Where(f => f.Severity == SqlConnectionStringFindingSeverity.Warning);

    /// <summary>
    /// Gets the canonical form of the connection string: every keyword under its one SqlClient name (<c>Pwd</c> becomes
    /// <c>Password</c>, <c>Server</c> becomes <c>Data Source</c>, <c>Connection Lifetime</c> becomes
    /// <c>Load Balance Timeout</c>), in SqlClient's keyword order, values SqlClient would use anyway (its defaults) left out,
    /// and <c>Application Name</c> filled in when missing.
    /// </summary>
    /// <value>The string to open connections with; equivalent strings give the identical string, so they share one connection
    /// pool. It contains the password: never log it. <see langword="null"/> when the connection string is refused.</value>
    public string? NormalizedConnectionString { get; }

    /// <summary>Gets the Data Source for a log line, or a placeholder when its entry may be part of a password.</summary>
    internal string DisplayedDataSource { get; }

    /// <summary>Gets the Initial Catalog for a log line, or a placeholder when its entry may be part of a password.</summary>
    internal string DisplayedInitialCatalog { get; }

    /// <summary>Returns a one-line summary, for example "Refused: SAFESQL004, SAFESQL009 (2 errors, 0 warnings)."; it never
    /// contains the connection string.</summary>
    /// <returns>The summary.</returns>
    public override string ToString()
    {
        var errors = Errors.Count();
        var warnings = Findings.Count - errors;
        if (Findings.Count == 0)
        {
            return "Accepted: no findings.";
        }

        var ids = string.Join(", ", Findings.Select(f => f.RuleId));
        return $"{(IsAccepted ? "Accepted" : "Refused")}: {ids} ({errors} error{(errors == 1 ? "" : "s")}, {warnings} warning{(warnings == 1 ? "" : "s")}).";
    }
}

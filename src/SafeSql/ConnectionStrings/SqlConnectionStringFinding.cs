namespace SafeSql.ConnectionStrings;

/// <summary>
/// One rule broken by a connection string: what happened (with the current value), why it matters, what to do and the source
/// of the rule. Never contains the connection string's password.
/// </summary>
public sealed class SqlConnectionStringFinding
{
    internal SqlConnectionStringFinding(
        SqlConnectionStringRule rule,
        SqlConnectionStringFindingSeverity severity,
        string? keyword,
        string? currentValue,
        string description,
        string reason,
        string fix)
    {
        Rule = rule;
        Severity = severity;
        Keyword = keyword;
        CurrentValue = currentValue;
        Description = description;
        Reason = reason;
        Fix = fix;
        Message = $"{rule.Id}: {description} {reason} Fix: {fix} Source: {rule.Source}";
    }

    /// <summary>Gets the rule that was broken.</summary>
    /// <value>One of the rules of <see cref="SqlConnectionStringRules"/>.</value>
    public SqlConnectionStringRule Rule { get; }

    /// <summary>Gets the rule's id, for example "SAFESQL004".</summary>
    /// <value>The same as <see cref="SqlConnectionStringRule.Id"/> of <see cref="Rule"/>.</value>
    public string RuleId => Rule.Id;

    /// <summary>Gets the severity of this finding.</summary>
    /// <value><see cref="SqlConnectionStringFindingSeverity.Error"/> refuses the connection string;
    /// <see cref="SqlConnectionStringFindingSeverity.Warning"/> only reports it.</value>
    public SqlConnectionStringFindingSeverity Severity { get; }

    /// <summary>Gets the canonical SqlClient keyword concerned, for example "Load Balance Timeout" for a string that spells it
    /// "Connection Lifetime".</summary>
    /// <value><see langword="null"/> when the finding is about the whole string, or when the keyword's name is withheld
    /// because it may be part of an unquoted password.</value>
    public string? Keyword { get; }

    /// <summary>Gets the current value of <see cref="Keyword"/>, as SqlClient reads it.</summary>
    /// <value>For example "40000"; <see langword="null"/> when there is no single value, or when it is withheld because it may be
    /// part of a password. A password is never shown.</value>
    public string? CurrentValue { get; }

    /// <summary>Gets what happened, with the current value, for example "Max Pool Size=40000 is above the limit of 1000
    /// (SqlClient's default is 100).".</summary>
    /// <value>One or more sentences.</value>
    public string Description { get; }

    /// <summary>Gets why the setting is refused or reported.</summary>
    /// <value>One or more sentences.</value>
    public string Reason { get; }

    /// <summary>Gets what to do about it.</summary>
    /// <value>One or more sentences, naming the option to change when a threshold can be raised.</value>
    public string Fix { get; }

    /// <summary>Gets the source the rule is based on (a document URL or SqlClient's error text).</summary>
    /// <value>The same as <see cref="SqlConnectionStringRule.Source"/> of <see cref="Rule"/>.</value>
    public string Source => Rule.Source;

    /// <summary>Gets the complete message: "{id}: {description} {reason} Fix: {fix} Source: {source}".</summary>
    /// <value>A message that reads well on its own, in a log or an exception.</value>
    public string Message { get; }

    /// <summary>Returns <see cref="Message"/>.</summary>
    /// <returns>The complete message.</returns>
    public override string ToString() => Message;
}

namespace SafeSql.ConnectionStrings;

/// <summary>
/// One named rule of the connection-string policy: its stable id, a short title, the keyword it concerns and the source it is
/// based on. The catalog of rules is <see cref="SqlConnectionStringRules"/>.
/// </summary>
public sealed class SqlConnectionStringRule
{
    internal SqlConnectionStringRule(string id, string title, string? keyword, SqlConnectionStringFindingSeverity defaultSeverity, string source)
    {
        Id = id;
        Title = title;
        Keyword = keyword;
        DefaultSeverity = defaultSeverity;
        Source = source;
    }

    /// <summary>Gets the stable id of the rule.</summary>
    /// <value>"SAFESQL" followed by three digits, for example "SAFESQL004". An id never changes meaning once shipped.</value>
    public string Id { get; }

    /// <summary>Gets a short title of the rule.</summary>
    /// <value>For example "Pooling disabled".</value>
    public string Title { get; }

    /// <summary>Gets the canonical SqlClient keyword the rule concerns.</summary>
    /// <value>For example "Max Pool Size"; <see langword="null"/> for rules about the whole string (malformed, unknown keyword).</value>
    public string? Keyword { get; }

    /// <summary>Gets the severity of the rule's findings with the default <see cref="SqlConnectionStringPolicyOptions"/>.</summary>
    /// <value><see cref="SqlConnectionStringFindingSeverity.Error"/> for every rule except the duplicate-keyword and unencrypted-connection warnings.</value>
    public SqlConnectionStringFindingSeverity DefaultSeverity { get; }

    /// <summary>Gets the source of the rule: the document (URL) or the SqlClient error text it is based on.</summary>
    /// <value>A URL, optionally followed by the quoted text that justifies the rule.</value>
    public string Source { get; }

    /// <summary>Returns the rule's id and title, for example "SAFESQL004 Pooling disabled".</summary>
    /// <returns>The id and the title.</returns>
    public override string ToString() => $"{Id} {Title}";
}

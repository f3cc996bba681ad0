using System.Globalization;

using Microsoft.Data.SqlClient;

namespace SafeSql.ConnectionStrings;

/// <summary>
/// One run of the connection-string policy over one string: reads it through <see cref="SqlConnectionStringParser"/> entry
/// by entry, in the order written (so one bad entry does not hide the others, and the password guard sees every entry where
/// SqlClient sees it), applies the rules, and builds the normalized string. Messages are built here and never quote the
/// password, nor any keyword or value that may be part of it (<see cref="SqlConnectionStringParser.MayBePartOfPassword"/>).
/// Partial by concern: this file reads the entries (SAFESQL001-003) and holds the text helpers; <c>.Rules.cs</c>,
/// <c>.Encryption.cs</c> and <c>.Normalization.cs</c> the rest.
/// </summary>
internal sealed partial class SqlConnectionStringEvaluation
{
    private const string WithheldText = "(not shown: it may be part of the password)";

    // The keywords SqlConnection checks against each other (SqlConnectionString constructor: Authentication with Integrated
    // Security, User ID or Password; Column Encryption Setting with the enclave keywords), in SqlClient's order.
    private static readonly string[] s_combinationKeywords =
    [
        "Integrated Security", "User ID", SqlClientKeywords.Password, "Authentication", "Column Encryption Setting", "Enclave Attestation Url", "Attestation Protocol",
    ];

    private readonly SqlConnectionStringParser _parser;
    private readonly string _connectionString;
    private readonly SqlConnectionStringPolicyOptions _options;
    private readonly List<SqlConnectionStringFinding> _findings = [];
    private readonly SqlConnectionStringBuilder _parsed = new();

    // Canonical keyword -> the entry in effect: its spelling and value as written, and whether it may be part of a password.
    private readonly Dictionary<string, Effective> _entries = new(StringComparer.OrdinalIgnoreCase);

    // Canonical keyword -> whether its last entry has no value, and how messages may spell that entry.
    private readonly Dictionary<string, bool> _lastIsEmpty = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _lastSpelling = new(StringComparer.OrdinalIgnoreCase);

    public SqlConnectionStringEvaluation(string connectionString, SqlConnectionStringPolicyOptions options)
    {
        _parser = SqlConnectionStringParser.Parse(connectionString);
        _connectionString = connectionString;
        _options = options;
    }

    public SqlConnectionStringPolicyResult Run()
    {
        if (!_parser.IsWellFormed)
        {
            AddMalformed(_parser.SyntaxErrorIndex);
            return Result(normalized: null);
        }

        ReadEntries();
        CheckEmptyValues();
        ApplyRules();
        if (!HasErrors())
        {
            // SafeSql's own reading found nothing: SqlClient's two readers must agree (a rule above names the problem better
            // than SqlClient's refusal would, so they run first).
            CheckSqlClientReads();
        }

        if (HasErrors())
        {
            return Result(normalized: null);
        }

        var normalized = Normalize();
        CheckSqlClientAccepts(normalized);
        return Result(normalized);
    }

    private bool HasErrors() => _findings.Exists(f => f.Severity == SqlConnectionStringFindingSeverity.Error);

    private SqlConnectionStringPolicyResult Result(string? normalized)
    {
        // Stable sort: by rule id, then in the order found.
        var ordered = _findings
            .Select((finding, index) => (finding, index))
            .OrderBy(x => x.finding.RuleId, StringComparer.Ordinal)
            .ThenBy(x => x.index)
            .Select(x => x.finding)
            .ToArray();
        return new SqlConnectionStringPolicyResult(ordered, normalized, Displayed(SqlClientKeywords.DataSource, _parsed.DataSource), Displayed(SqlClientKeywords.InitialCatalog, _parsed.InitialCatalog));
    }

    /// <summary>A free-text value for a log line, or a placeholder when its entry may be part of a password.</summary>
    private string Displayed(string canonical, string value) =>
        _entries.TryGetValue(canonical, out var entry) && entry.MayBePassword ? WithheldText : value;

    // ---- Parsing ------------------------------------------------------------------------------------------------------

    private void ReadEntries()
    {
        // Each entry in the order written, as SqlConnectionStringBuilder applies them: an entry without a value resets its
        // keyword to SqlClient's default, a later entry overrides an earlier one, and every value must convert.
        var entries = _parser.Entries;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            var mayBePassword = _parser.MayBePartOfPassword(i);
            var canonical = SqlClientKeywords.Canonical(entry.Keyword);
            if (canonical is null)
            {
                AddUnknownKeyword(entry.Keyword, mayBePassword);
                continue;
            }

            // A keyword SqlClient knows is a word of SqlClient's vocabulary, so its spelling can always be shown.
            var spelling = Spelling(entry.Keyword, canonical);
            var valid = entry.Value is null || TrySetValue(canonical, entry.Value);
            if (_lastSpelling.TryGetValue(canonical, out var earlierSpelling))
            {
                // After an unquoted password a value is shown only when SqlClient reads it as a number, a Boolean or a named
                // option: never free text, never a value it refuses.
                var showValue = entry.Value is not null && !SqlClientKeywords.IsPassword(canonical) && (!mayBePassword || (valid && !IsFreeText(canonical)));
                AddDuplicate(canonical, earlierSpelling, spelling, entry.Value, showValue);
            }

            _lastSpelling[canonical] = spelling;
            _lastIsEmpty[canonical] = entry.Value is null;
            if (entry.Value is null)
            {
                _parsed.Remove(canonical);
                _entries.Remove(canonical);
            }
            else if (valid)
            {
                _entries[canonical] = new Effective(spelling, entry.Value, mayBePassword);
            }
            else
            {
                AddInvalidValue(canonical, spelling, entry.Value, mayBePassword);
                _entries.Remove(canonical);
            }
        }
    }

    private bool TrySetValue(string canonical, string value)
    {
        try
        {
            _parsed[canonical] = value;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // ArgumentException, FormatException, OverflowException, NotSupportedException... all quote the value.
            _parsed.Remove(canonical);
            return false;
        }

        if ((canonical == SqlClientKeywords.ApplicationName || canonical == SqlClientKeywords.WorkstationId) && value.Length > PolicyDefaults.ApplicationNameMaxLength)
        {
            // SqlClient's builder accepts it; SqlConnection refuses it ("exceeds it's limit of '128'").
            _parsed.Remove(canonical);
            return false;
        }

        return true;
    }

    /// <summary>The keyword as the string wrote it (a synonym such as Connection Lifetime), or the canonical name when they
    /// differ only in case.</summary>
    private static string Spelling(string written, string canonical) =>
        string.Equals(written, canonical, StringComparison.OrdinalIgnoreCase) ? canonical : written;

    private void CheckEmptyValues()
    {
        foreach (var (canonical, isEmpty) in _lastIsEmpty)
        {
            if (isEmpty && !SqlClientKeywords.EmptyValueAccepted(canonical))
            {
                Add(
                    SqlConnectionStringRules.InvalidValue,
                    canonical,
                    null,
                    $"{canonical} has no value (nothing follows its '=').",
                    "SqlConnectionStringBuilder reads it as SqlClient's default, but SqlConnection fails on this keyword without a value when the connection is created, so the application would fail on its first query instead of at startup.",
                    $"Remove the {canonical} entry to use SqlClient's default{DefaultText(canonical)}, or give it a value.");
            }
        }
    }

    private void CheckSqlClientReads()
    {
        // The entries are applied as SqlConnectionStringBuilder applies them; this is the check that SqlClient's own reading
        // agrees. Its exception (FormatException, OverflowException...) is never passed on: it quotes the value.
        if (_parser.ReadWithSqlClient() is null)
        {
            Add(
                SqlConnectionStringRules.InvalidValue,
                null,
                null,
                "SqlConnectionStringBuilder refuses the connection string. Its message is not shown: it could quote part of the connection string.",
                "No connection can be opened with it.",
                "Check each keyword and value against the SqlClient keyword list at the source.");
            return;
        }

        // Then SqlConnection, which validates what the builder does not (combinations such as Authentication with Integrated
        // Security, an unknown keyword without a value).
        CheckConnectionAccepts(_connectionString);
    }

    private sealed record Effective(string Spelling, string Value, bool MayBePassword);

    // ---- Text helpers -------------------------------------------------------------------------------------------------

    /// <summary>"Max Pool Size=40000", or "Connection Lifetime=1 (Load Balance Timeout)" for a synonym; never for Password.
    /// Used only for number, Boolean and enumeration keywords: a value SqlClient parsed as one of these is a word of
    /// SqlClient's vocabulary, never free text, so it is shown as written even after an unquoted password.</summary>
    private string Shown(string canonical)
    {
        var (spelling, value, _) = _entries[canonical];
        return string.Equals(spelling, canonical, StringComparison.Ordinal) ? $"{spelling}={value}" : $"{spelling}={value} ({canonical})";
    }

    /// <summary>Whether a keyword takes free text (a name, a host, a catalog) rather than a number, a Boolean or a named option.</summary>
    private static bool IsFreeText(string canonical) => SqlClientKeywords.Defaults[canonical] is string or null;

    private static string LimitSeconds(TimeSpan limit) => ((long)limit.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    private static string Duration(int seconds) => seconds switch
    {
        < 120 => $"{seconds.ToString(CultureInfo.InvariantCulture)} s",
        < 7200 => $"{(seconds / 60d).ToString("0.#", CultureInfo.InvariantCulture)} minutes",
        _ => $"{(seconds / 3600d).ToString("0.#", CultureInfo.InvariantCulture)} hours",
    };

    private static string Expected(string canonical) => SqlClientKeywords.Defaults[canonical] switch
    {
        bool => "true or false (yes and no also work)",
        int => "a whole number within the keyword's documented range",
        Enum => "one of the values listed in SqlClient's keyword documentation",
        _ => "a value from the keyword's documentation",
    };

    private static string DefaultText(string canonical) => SqlClientKeywords.Defaults[canonical] switch
    {
        string s when s.Length == 0 => string.Empty,
        bool b => $" ({(b ? "true" : "false")})",
        var v => $" ({Convert.ToString(v, CultureInfo.InvariantCulture)})",
    };

    private void Add(SqlConnectionStringRule rule, string? keyword, string? currentValue, string description, string reason, string fix)
        => Add(rule, rule.DefaultSeverity, keyword, currentValue, description, reason, fix);

    private void Add(SqlConnectionStringRule rule, SqlConnectionStringFindingSeverity severity, string? keyword, string? currentValue, string description, string reason, string fix)
        => _findings.Add(new SqlConnectionStringFinding(rule, severity, keyword, currentValue, description, reason, fix));
}

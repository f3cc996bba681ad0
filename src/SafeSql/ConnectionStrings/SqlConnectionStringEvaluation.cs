using System.Data.Common;
using System.Globalization;
using System.Reflection;
using System.Text;

using Microsoft.Data.SqlClient;

using SafeSql.Classification;

namespace SafeSql.ConnectionStrings;

/// <summary>
/// One run of the connection-string policy over one string: reads it through <see cref="SqlConnectionStringParser"/> entry
/// by entry, in the order written (so one bad entry does not hide the others, and the password guard sees every entry where
/// SqlClient sees it), applies the rules, and builds the normalized string. Messages are built here and never quote the
/// password, nor any keyword or value that may be part of it (<see cref="SqlConnectionStringParser.MayBePartOfPassword"/>).
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

    // ---- Rules --------------------------------------------------------------------------------------------------------

    private void ApplyRules()
    {
        if (string.IsNullOrWhiteSpace(_parsed.DataSource))
        {
            Add(
                SqlConnectionStringRules.DataSourceMissing,
                "Data Source",
                null,
                "The connection string has no Data Source (also spelled Server or Address).",
                "SqlClient cannot know which server to connect to, so the first Open would fail. This usually means a configuration value was not found.",
                "Set Data Source to the server, for example Data Source=tcp:sql.example.com,1433.");
        }

        if (!_parsed.Pooling)
        {
            AddPoolingDisabled();
        }

        if (_parsed.LoadBalanceTimeout > 0)
        {
            AddConnectionLifetime();
        }

        if (_parsed.ConnectTimeout == 0)
        {
            Add(
                SqlConnectionStringRules.ConnectTimeoutInfinite,
                "Connect Timeout",
                "0",
                $"{Shown("Connect Timeout")} means wait forever.",
                "An unreachable server then hangs every Open, and because SqlClient also waits up to Connect Timeout for a free pooled connection, an exhausted pool (usually a connection leak) hangs every request instead of failing with an error that names the cause.",
                $"Remove Connect Timeout (SqlClient's default is {PolicyDefaults.SqlClientConnectTimeoutSeconds} s) or set it between 1 and {LimitSeconds(_options.ConnectTimeoutLimit)} seconds.");
        }
        else if (_entries.ContainsKey("Connect Timeout") && _parsed.ConnectTimeout > _options.ConnectTimeoutLimit.TotalSeconds)
        {
            var value = _parsed.ConnectTimeout;
            Add(
                SqlConnectionStringRules.ConnectTimeoutTooLong,
                "Connect Timeout",
                value.ToString(CultureInfo.InvariantCulture),
                $"{Shown("Connect Timeout")} ({Duration(value)}) is above the limit of {LimitSeconds(_options.ConnectTimeoutLimit)} s (SqlClient's default is {PolicyDefaults.SqlClientConnectTimeoutSeconds} s).",
                $"SqlClient also waits up to Connect Timeout for a free pooled connection, so a connection leak or an unreachable server makes requests hang for up to {Duration(value)} instead of failing with an error that names the cause.",
                $"Remove Connect Timeout or set it to at most {LimitSeconds(_options.ConnectTimeoutLimit)} (SafeSql retries transient open failures for you). If a longer wait is truly needed, raise SqlConnectionStringPolicyOptions.ConnectTimeoutLimit.");
        }

        if (_entries.ContainsKey("Max Pool Size") && _parsed.MaxPoolSize > _options.MaxPoolSizeLimit)
        {
            var value = _parsed.MaxPoolSize;
            Add(
                SqlConnectionStringRules.MaxPoolSizeTooLarge,
                "Max Pool Size",
                value.ToString(CultureInfo.InvariantCulture),
                $"{Shown("Max Pool Size")} is above the limit of {_options.MaxPoolSizeLimit} (SqlClient's default is {PolicyDefaults.SqlClientMaxPoolSize}).",
                $"Raising Max Pool Size does not fix pool timeouts caused by leaked connections, it only delays them until up to {value} sessions pile up on the server, each costing server memory and a worker (SQL Server allows at most 32,767 user connections for all clients together). SafeSql reports leaked connections with the code that opened them instead.",
                $"Remove Max Pool Size (or set it to at most {_options.MaxPoolSizeLimit}) and dispose every connection. If one process truly needs more concurrent connections, raise SqlConnectionStringPolicyOptions.MaxPoolSizeLimit.");
        }

        if (_parsed.MinPoolSize > _parsed.MaxPoolSize)
        {
            var max = _entries.ContainsKey("Max Pool Size")
                ? Shown("Max Pool Size")
                : $"Max Pool Size={_parsed.MaxPoolSize} (SqlClient's default)";
            Add(
                SqlConnectionStringRules.MinPoolSizeAboveMax,
                "Min Pool Size",
                _parsed.MinPoolSize.ToString(CultureInfo.InvariantCulture),
                $"{Shown("Min Pool Size")} is greater than {max}.",
                "SqlClient refuses such a connection string when the first connection is created, so the application would fail on its first query instead of at startup.",
                $"Lower Min Pool Size to at most {_parsed.MaxPoolSize}, or remove it (SqlClient's default is 0).");
        }

        ApplyEncryptionRules();
    }

    private void AddPoolingDisabled()
    {
        const string Reason = "Without pooling every Open makes a new TCP connection and login, and every Close leaves a local port in TIME_WAIT (" + TcpFacts.TimeWaitDurations + "), so a busy application runs out of ephemeral ports and fails with network errors. Turning pooling off is the usual workaround for pool timeouts, but the connection leak behind them remains: SafeSql reports leaked connections instead.";
        if (_options.AllowPoolingDisabled)
        {
            Add(
                SqlConnectionStringRules.PoolingDisabled,
                SqlConnectionStringFindingSeverity.Warning,
                "Pooling",
                _entries["Pooling"].Value,
                $"{Shown("Pooling")} turns connection pooling off (allowed by SqlConnectionStringPolicyOptions.AllowPoolingDisabled, so this is a warning).",
                Reason,
                "Remove Pooling=false as soon as this process no longer needs it (pooling is on by default) and dispose every connection.");
            return;
        }

        Add(
            SqlConnectionStringRules.PoolingDisabled,
            "Pooling",
            _entries["Pooling"].Value,
            $"{Shown("Pooling")} turns connection pooling off.",
            Reason,
            "Remove Pooling=false (pooling is on by default) and dispose every connection (await using) so it returns to the pool. For a process that really must not pool, set SqlConnectionStringPolicyOptions.AllowPoolingDisabled to true.");
    }

    private void AddConnectionLifetime()
    {
        const string Keyword = "Load Balance Timeout";
        var value = _parsed.LoadBalanceTimeout;
        var current = value.ToString(CultureInfo.InvariantCulture);
        var minimum = LimitSeconds(_options.MinConnectionLifetime);
        if (!_options.AllowConnectionLifetime)
        {
            Add(
                SqlConnectionStringRules.ConnectionLifetimeSet,
                Keyword,
                current,
                $"{Shown(Keyword)} makes the pool destroy every connection that is returned more than {value} s after it was opened.",
                "The pool then keeps reopening TCP connections and logins (each one closed leaves a port in TIME_WAIT): a workaround for leaked or stale connections that costs ports and hides the cause. SqlClient documents it only for clusters, to move load to a server just brought online.",
                $"Remove {_entries[Keyword].Spelling}. Behind a load-balanced cluster that needs it, set SqlConnectionStringPolicyOptions.AllowConnectionLifetime to true and use at least {minimum} s.");
        }
        else if (value < _options.MinConnectionLifetime.TotalSeconds)
        {
            var perSecond = _parsed.MaxPoolSize / (double)value;
            Add(
                SqlConnectionStringRules.ConnectionLifetimeTooShort,
                Keyword,
                current,
                $"{Shown(Keyword)} is below the minimum of {minimum} s (SqlConnectionStringPolicyOptions.MinConnectionLifetime), although AllowConnectionLifetime is set.",
                $"A lifetime shorter than TIME_WAIT (60 s on Linux) piles up closed ports faster than they expire: with Max Pool Size={_parsed.MaxPoolSize} the pool may reconnect up to {perSecond.ToString("0.#", CultureInfo.InvariantCulture)} times a second, close to running without a pool.",
                $"Set {_entries[Keyword].Spelling} to at least {minimum} (seconds), for example 300, or lower SqlConnectionStringPolicyOptions.MinConnectionLifetime if the cluster really needs faster rebalancing.");
        }
    }

    private void AddMalformed(int? index)
    {
        var where = index is { } i
            ? $" SqlClient's parser stops after character {i.ToString(CultureInfo.InvariantCulture)} of {_connectionString.Length.ToString(CultureInfo.InvariantCulture)}."
            : " SqlClient cannot parse it.";
        Add(
            SqlConnectionStringRules.Malformed,
            null,
            null,
            "The connection string is malformed." + where,
            "No connection can be opened with it. (SafeSql does not quote the text, because it may contain a password.)",
            "Write it as keyword=value pairs separated by ';'. Enclose a value that contains ';', a single quote or a double quote in double quotes (Password=\"a;b\"), doubling any double quote inside it.");
    }

    private void AddUnknownKeyword(string key, bool afterPassword)
    {
        if (afterPassword)
        {
            Add(
                SqlConnectionStringRules.UnknownKeyword,
                null,
                null,
                "An entry after Password is not a keyword SqlClient knows (its name is not shown because it may be part of the password).",
                "A password that contains ';' is split into extra entries unless it is quoted, and SqlClient refuses the whole connection string (\"Keyword not supported\") at the first Open.",
                "Enclose the password in double quotes (Password=\"...\"), doubling any double quote inside it, or correct the keyword that follows it.");
            return;
        }

        var suggestion = Suggest(key);
        Add(
            SqlConnectionStringRules.UnknownKeyword,
            null,
            null,
            $"Keyword '{key}' is not supported by Microsoft.Data.SqlClient {SqlClientKeywords.Version}.{(suggestion is null ? "" : $" Did you mean '{suggestion}'?")}",
            "SqlClient refuses the whole connection string (\"Keyword not supported\") at the first Open, so the application would fail on its first query instead of at startup.",
            "Correct or remove the keyword. A keyword added in a newer SqlClient needs the application to reference that version.");
    }

    private void AddInvalidValue(string canonical, string spelling, string value, bool afterPassword)
    {
        if (afterPassword)
        {
            Add(
                SqlConnectionStringRules.InvalidValue,
                null,
                null,
                "An entry after Password has a value SqlClient does not accept (its name and value are not shown because they may be part of the password).",
                "A password that contains ';' is split into extra entries unless it is quoted, and SqlClient refuses the whole connection string at the first Open.",
                "Enclose the password in double quotes (Password=\"...\"), doubling any double quote inside it, or correct the value that follows it.");
            return;
        }

        var synonym = string.Equals(spelling, canonical, StringComparison.Ordinal) ? string.Empty : $" ({canonical})";
        var tooLong = (canonical == SqlClientKeywords.ApplicationName || canonical == SqlClientKeywords.WorkstationId) && value.Length > PolicyDefaults.ApplicationNameMaxLength;
        Add(
            SqlConnectionStringRules.InvalidValue,
            canonical,
            tooLong ? null : value,
            tooLong
                ? $"{spelling}{synonym} is {value.Length.ToString(CultureInfo.InvariantCulture)} characters long, above SQL Server's limit of {PolicyDefaults.ApplicationNameMaxLength}."
                : $"{spelling}={value}{synonym} is not a valid value: SqlClient expects {Expected(canonical)}.",
            "SqlClient refuses the whole connection string at the first Open, so the application would fail on its first query instead of at startup.",
            $"Set {canonical} to a valid value, or remove it to use SqlClient's default{DefaultText(canonical)}.");
    }

    private void AddDuplicate(string canonical, string earlierSpelling, string spelling, string? value, bool showValue)
    {
        var sameSpelling = string.Equals(earlierSpelling, spelling, StringComparison.OrdinalIgnoreCase);
        var twice = sameSpelling
            ? $"{canonical} is given twice"
            : $"{canonical} is given twice, as {earlierSpelling} and as {spelling}";
        var last = value is null
            ? "SqlClient uses the last one, which is empty, so SqlClient's default applies."
            : showValue ? $"SqlClient uses the last one ({value})." : "SqlClient uses the last one.";
        Add(
            SqlConnectionStringRules.DuplicateKeyword,
            SqlConnectionStringFindingSeverity.Warning,
            canonical,
            showValue ? value : null,
            $"{twice}. {last}",
            sameSpelling
                ? "A setting given twice makes the value in effect easy to misread, and an edit to the first one silently does nothing."
                : "Two spellings of one setting make the value in effect easy to misread, and an edit to the first one silently does nothing.",
            "Keep one of them.");
    }

    private void CheckSqlClientAccepts(string normalized) => CheckConnectionAccepts(normalized);

    private void CheckConnectionAccepts(string connectionString)
    {
        // SqlConnection validates combinations the builder does not (for example Authentication with Integrated Security).
        // SqlClient's message is never passed on, whatever it says: an escaped, trimmed or partial form of the password could
        // pass any check for the password itself. The message names the keywords that were set instead. Any exception counts:
        // SqlClient 6.1.8 and 7.1.1 throw a NullReferenceException for some strings.
        try
        {
            using var connection = new SqlConnection(connectionString);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var involved = s_combinationKeywords.Where(_entries.ContainsKey).ToArray();
            var names = involved.Length > 0 ? involved : [.. _entries.Keys.Order(StringComparer.OrdinalIgnoreCase)];
            Add(
                SqlConnectionStringRules.InvalidValue,
                null,
                null,
                $"SqlClient refuses this combination of keywords ({string.Join(", ", names)}). Its message is not shown: it could quote part of the connection string.",
                "No connection can be opened with it.",
                "Correct how these keywords go together: for example, Authentication cannot be combined with Integrated Security, and the Active Directory methods that sign in without a password (Integrated, Interactive, Device Code Flow, Managed Identity) take no Password (see the SqlClient keyword list at the source).");
        }
    }

    // ---- Normalization ------------------------------------------------------------------------------------------------

    private string Normalize()
    {
        var canonical = new SqlConnectionStringBuilder();
        var fillApplicationName = _options.SetApplicationNameWhenMissing && !_parsed.ShouldSerialize(SqlClientKeywords.ApplicationName);

        // SqlClient's keyword order, one canonical name per setting, values equal to SqlClient's defaults (read from the loaded
        // SqlClient, never assumed) left out: equivalent strings become the identical string, and so share one pool (SqlClient
        // keys its pools by the exact string).
        foreach (string keyword in _parsed.Keys)
        {
            if (keyword == SqlClientKeywords.ApplicationName && fillApplicationName)
            {
                canonical[keyword] = ApplicationName();
                continue;
            }

            if (!_parsed.ShouldSerialize(keyword))
            {
                continue;
            }

            var value = _parsed[keyword];
            if (keyword != SqlClientKeywords.ApplicationName && Equals(value, SqlClientKeywords.Defaults[keyword]))
            {
                continue;
            }

            canonical[keyword] = value;
        }

        return KeepEmptyValues(canonical.ConnectionString);
    }

    /// <summary>
    /// SqlConnectionStringBuilder writes a value set to the empty string as <c>Keyword=</c>, which a second reading takes for
    /// "no value" (SqlClient's default, not the empty string), so normalizing twice would change the string. An empty value is
    /// written <c>Keyword=""</c> instead; every other entry is written exactly as SqlClient wrote it.
    /// </summary>
    private static string KeepEmptyValues(string written)
    {
        var entries = new List<SqlConnectionStringEntry>();
        if (!SqlConnectionStringTokenizer.TryTokenize(written, entries, out _) || entries.TrueForAll(e => e.Value is not null))
        {
            return written;
        }

        var text = new StringBuilder(written.Length + 8);
        foreach (var entry in entries)
        {
            if (entry.Value is null)
            {
                if (text.Length > 0)
                {
                    text.Append(';');
                }

                text.Append(entry.Keyword).Append("=\"\"");
            }
            else
            {
                DbConnectionStringBuilder.AppendKeyValuePair(text, entry.Keyword, entry.Value);
            }
        }

        return text.ToString();
    }

    private string ApplicationName()
    {
        var name = _options.ApplicationName;
        if (string.IsNullOrWhiteSpace(name))
        {
            name = Assembly.GetEntryAssembly()?.GetName().Name;
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            name = PolicyDefaults.FallbackApplicationName;
        }

        return name.Length <= PolicyDefaults.ApplicationNameMaxLength ? name : name[..PolicyDefaults.ApplicationNameMaxLength];
    }

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

    private static string? Suggest(string unknown)
    {
        var squeezed = Squeeze(unknown);
        string? best = null;
        var bestDistance = squeezed.Length switch
        {
            < 6 => 1,
            < 10 => 2,
            _ => 3,
        } + 1;
        foreach (string keyword in SqlClientKeywords.Defaults.Keys)
        {
            var distance = Distance(squeezed, Squeeze(keyword));
            if (distance < bestDistance)
            {
                best = keyword;
                bestDistance = distance;
            }
        }

        return best;

        static string Squeeze(string s) => new(s.Where(char.IsLetterOrDigit).Select(char.ToUpperInvariant).ToArray());
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private void Add(SqlConnectionStringRule rule, string? keyword, string? currentValue, string description, string reason, string fix)
        => Add(rule, rule.DefaultSeverity, keyword, currentValue, description, reason, fix);

    private void Add(SqlConnectionStringRule rule, SqlConnectionStringFindingSeverity severity, string? keyword, string? currentValue, string description, string reason, string fix)
        => _findings.Add(new SqlConnectionStringFinding(rule, severity, keyword, currentValue, description, reason, fix));
}

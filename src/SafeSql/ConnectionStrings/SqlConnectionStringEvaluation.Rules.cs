using System.Globalization;

using Microsoft.Data.SqlClient;

namespace SafeSql.ConnectionStrings;

/// <summary>The rules SAFESQL004-012 applied to the entries read (SAFESQL001-003 are found while reading; SAFESQL013-014 in <c>.Encryption.cs</c>).</summary>
internal sealed partial class SqlConnectionStringEvaluation
{
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

        var suggestion = KeywordSuggestions.Suggest(key);
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
}

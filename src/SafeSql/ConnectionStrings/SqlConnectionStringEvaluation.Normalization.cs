using System.Data.Common;
using System.Reflection;
using System.Text;

using Microsoft.Data.SqlClient;

namespace SafeSql.ConnectionStrings;

/// <summary>The normalized string: SqlClient's canonical keywords and order, defaults dropped, <c>Application Name</c> filled in.</summary>
internal sealed partial class SqlConnectionStringEvaluation
{
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
}

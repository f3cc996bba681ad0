using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

using Microsoft.Data.SqlClient;

using SafeSql.Diagnostics;

namespace SafeSql.ConnectionStrings;

/// <summary>
/// The one front door through which SafeSql reads a connection string: the policy, the normalizer, startup validation and
/// the retry builders all start here. It keeps every entry where the string has it (order, repeated keywords, empty values),
/// marks the entries that may be part of a password, and reads the string with SqlClient's own builder without letting any
/// of SqlClient's exceptions (or their messages, which can quote a value) escape.
/// </summary>
/// <remarks>
/// The password rule (docs/connection-string-policy.md, "Passwords"): an entry may be part of a password when it comes after
/// a <c>Password</c> (<c>Pwd</c>) entry whose value is not quoted (an empty value included), up to the end of the string; and
/// from the first entry whose keyword ends with, or whose value contains, a password assignment (<c>x;Password</c>,
/// <c>a Password=b</c>: a quote left open or a missing <c>;</c> swallowed the password entry). A password that contains
/// <c>;</c> splits into such entries, and they can look like anything, a valid keyword included. For these entries SafeSql
/// shows only words of SqlClient's own vocabulary: a keyword SqlClient knows, and a value SqlClient reads as a number, a
/// Boolean or a named option; never free text, an unknown keyword or a value SqlClient refuses. <see cref="Parse"/> and
/// <see cref="ReadWithSqlClient"/> are part of the integration API (<c>SAFESQLEXP002</c>): <c>safesql doctor</c> reads
/// strings through them.
/// </remarks>
[Experimental(IntegrationApi.ExperimentalId, UrlFormat = IntegrationApi.ExperimentalUrl)]
public sealed partial class SqlConnectionStringParser
{
    private readonly List<SqlConnectionStringEntry> _entries = [];
    private readonly int _firstGuarded;
    private SqlConnectionStringBuilder? _sqlClientReading;
    private bool _sqlClientRead;

    private SqlConnectionStringParser(string connectionString)
    {
        Text = connectionString;
        if (!SqlConnectionStringTokenizer.TryTokenize(connectionString, _entries, out var errorIndex))
        {
            SyntaxErrorIndex = errorIndex;
            _entries.Clear();
        }

        _firstGuarded = _entries.Count;
        for (var i = 0; i < _entries.Count; i++)
        {
            var entry = _entries[i];
            if (SqlClientKeywords.IsPassword(SqlClientKeywords.Canonical(entry.Keyword)))
            {
                // Unquoted, or quoted around another password assignment (a quote left open earlier swallowed the real
                // password entry, whose rest then follows the closing quote).
                if (!entry.IsQuoted || (entry.Value is { } swallowed && ValueHoldsPassword().IsMatch(swallowed)))
                {
                    _firstGuarded = i + 1;
                    break;
                }

                continue;
            }

            if (KeywordHoldsPassword().IsMatch(entry.Keyword) || (entry.Value is { } value && ValueHoldsPassword().IsMatch(value)))
            {
                // A quote left open or a missing ';' swallowed a password entry into this one.
                _firstGuarded = i;
                break;
            }
        }
    }

    /// <summary>A keyword that ends with a password keyword ("x;Password"): the entries before swallowed the ';'.</summary>
    [GeneratedRegex(@"(password|pwd)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex KeywordHoldsPassword();

    /// <summary>A value that holds a password assignment ("a Password=b"): a quote left open or a missing ';' swallowed it.</summary>
    [GeneratedRegex(@"(password|pwd)\s*=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ValueHoldsPassword();

    /// <summary>Gets the connection string as given (it may hold the password: never show it).</summary>
    internal string Text { get; }

    /// <summary>Gets every entry in the order written, repeated keywords and empty values included; empty when the string
    /// is malformed.</summary>
    internal IReadOnlyList<SqlConnectionStringEntry> Entries => _entries;

    /// <summary>Gets where SqlClient's parser stops on a malformed string; <see langword="null"/> when the syntax is right.</summary>
    internal int? SyntaxErrorIndex { get; }

    /// <summary>Gets a value indicating whether the string follows the connection string syntax.</summary>
    internal bool IsWellFormed => SyntaxErrorIndex is null;

    /// <summary>Reads <paramref name="connectionString"/>.</summary>
    /// <param name="connectionString">The connection string; never echoed by anything this type returns.</param>
    /// <returns>The parsed string.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="connectionString"/> is <see langword="null"/>.</exception>
    public static SqlConnectionStringParser Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        return new SqlConnectionStringParser(connectionString);
    }

    /// <summary>Whether entry <paramref name="index"/> comes after an unquoted password and so may be part of it.</summary>
    internal bool MayBePartOfPassword(int index) => index >= _firstGuarded;

    /// <summary>
    /// The string as <c>new SqlConnectionStringBuilder(connectionString)</c> reads it, or <see langword="null"/> when that
    /// throws. SqlClient throws ArgumentException, FormatException, OverflowException or NotSupportedException depending on
    /// the entry, and its messages quote keywords and values; none of it is passed on.
    /// </summary>
    /// <returns>SqlClient's reading of the string, or <see langword="null"/> when SqlClient refuses it.</returns>
    public SqlConnectionStringBuilder? ReadWithSqlClient()
    {
        if (!_sqlClientRead)
        {
            _sqlClientRead = true;
            try
            {
                _sqlClientReading = new SqlConnectionStringBuilder(Text);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _sqlClientReading = null;
            }
        }

        return _sqlClientReading;
    }
}

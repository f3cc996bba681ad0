using System.Text;

namespace SafeSql.Testing.Tds;

/// <summary>Splits T-SQL text into tokens: words, <c>@variables</c>, <c>@@system</c> variables, numbers, <c>'strings'</c>,
/// <c>N'strings'</c>, <c>[quoted]</c>/<c>"quoted"</c> identifiers and symbols; skips comments.</summary>
internal static class SqlLexer
{
    /// <returns>The tokens, ending with one <see cref="SqlTokenKind.End"/> token; <see langword="null"/> when a string or comment is not closed.</returns>
    public static List<SqlToken>? Tokenize(string sql, out SqlToken unterminated)
    {
        var tokens = new List<SqlToken>();
        unterminated = default;
        var i = 0;
        var line = 1;
        while (true)
        {
            while (i < sql.Length)
            {
                var c = sql[i];
                if (c == '\n')
                {
                    line++;
                    i++;
                }
                else if (char.IsWhiteSpace(c))
                {
                    i++;
                }
                else if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
                {
                    while (i < sql.Length && sql[i] != '\n')
                    {
                        i++;
                    }
                }
                else if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
                {
                    var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                    if (end < 0)
                    {
                        unterminated = new SqlToken(SqlTokenKind.Symbol, "/*", i, line);
                        return null;
                    }

                    line += CountLines(sql, i, end);
                    i = end + 2;
                }
                else
                {
                    break;
                }
            }

            if (i >= sql.Length)
            {
                tokens.Add(new SqlToken(SqlTokenKind.End, string.Empty, i, line));
                return tokens;
            }

            var start = i;
            var ch = sql[i];
            if ((ch == 'N' || ch == 'n') && i + 1 < sql.Length && sql[i + 1] == '\'')
            {
                var text = ReadQuoted(sql, i + 1, '\'', out var next);
                if (text is null)
                {
                    unterminated = new SqlToken(SqlTokenKind.UnicodeString, sql[start..], start, line);
                    return null;
                }

                tokens.Add(new SqlToken(SqlTokenKind.UnicodeString, text, start, line));
                line += CountLines(sql, i, next);
                i = next;
            }
            else if (ch == '\'')
            {
                var text = ReadQuoted(sql, i, '\'', out var next);
                if (text is null)
                {
                    unterminated = new SqlToken(SqlTokenKind.String, sql[start..], start, line);
                    return null;
                }

                tokens.Add(new SqlToken(SqlTokenKind.String, text, start, line));
                line += CountLines(sql, i, next);
                i = next;
            }
            else if (ch == '[' || ch == '"')
            {
                var text = ReadQuoted(sql, i, ch == '[' ? ']' : '"', out var next);
                if (text is null)
                {
                    unterminated = new SqlToken(SqlTokenKind.Word, sql[start..], start, line);
                    return null;
                }

                tokens.Add(new SqlToken(SqlTokenKind.Word, text, start, line));
                i = next;
            }
            else if (ch == '@')
            {
                var system = i + 1 < sql.Length && sql[i + 1] == '@';
                i += system ? 2 : 1;
                while (i < sql.Length && IsWordChar(sql[i]))
                {
                    i++;
                }

                tokens.Add(new SqlToken(system ? SqlTokenKind.SystemVariable : SqlTokenKind.Variable, sql[start..i], start, line));
            }
            else if (char.IsAsciiDigit(ch) || (ch == '.' && i + 1 < sql.Length && char.IsAsciiDigit(sql[i + 1])))
            {
                while (i < sql.Length && (char.IsAsciiDigit(sql[i]) || sql[i] == '.'))
                {
                    i++;
                }

                if (i < sql.Length && (sql[i] == 'e' || sql[i] == 'E'))
                {
                    i++;
                    if (i < sql.Length && (sql[i] == '+' || sql[i] == '-'))
                    {
                        i++;
                    }

                    while (i < sql.Length && char.IsAsciiDigit(sql[i]))
                    {
                        i++;
                    }
                }

                tokens.Add(new SqlToken(SqlTokenKind.Number, sql[start..i], start, line));
            }
            else if (IsWordChar(ch))
            {
                while (i < sql.Length && IsWordChar(sql[i]))
                {
                    i++;
                }

                tokens.Add(new SqlToken(SqlTokenKind.Word, sql[start..i], start, line));
            }
            else
            {
                i++;
                tokens.Add(new SqlToken(SqlTokenKind.Symbol, sql[start..i], start, line));
            }
        }
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_' || c == '#' || c == '$';

    private static int CountLines(string sql, int from, int to)
    {
        var n = 0;
        for (var k = from; k < to && k < sql.Length; k++)
        {
            if (sql[k] == '\n')
            {
                n++;
            }
        }

        return n;
    }

    private static string? ReadQuoted(string sql, int open, char close, out int next)
    {
        var builder = new StringBuilder();
        var i = open + 1;
        while (i < sql.Length)
        {
            if (sql[i] == close)
            {
                if (i + 1 < sql.Length && sql[i + 1] == close)
                {
                    builder.Append(close);
                    i += 2;
                    continue;
                }

                next = i + 1;
                return builder.ToString();
            }

            builder.Append(sql[i]);
            i++;
        }

        next = sql.Length;
        return null;
    }
}

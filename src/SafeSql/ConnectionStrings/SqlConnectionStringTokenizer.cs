using System.Text;

namespace SafeSql.ConnectionStrings;

/// <summary>
/// Splits a connection string into its entries with the grammar of SqlClient's own parser (the ADO.NET connection string
/// syntax, non-ODBC rules: <c>DbConnectionOptions.GetKeyValuePair</c> in System.Data.Common and its copy in
/// Microsoft.Data.SqlClient), but keeps what that parser throws away: the order of the entries, repeated keywords and
/// entries without a value. It accepts and refuses exactly the strings <c>DbConnectionStringBuilder</c> accepts and
/// refuses, and reports the same error position (the fuzz tests compare both on generated strings).
/// </summary>
/// <remarks>
/// Grammar, per entry: white space and <c>;</c> are skipped; the keyword runs to the first single <c>=</c> (<c>==</c>
/// stands for a literal <c>=</c>) and may hold white space but no control character; the value is either quoted with
/// <c>"</c> or <c>'</c> (the quote doubled inside it), or unquoted up to the next <c>;</c> or control character, trimmed,
/// and then must not end with a quote. A NUL character ends the string: only NUL and white space may follow it.
/// </remarks>
internal static class SqlConnectionStringTokenizer
{
    private enum State
    {
        NothingYet,
        Key,
        KeyEqual,
        KeyEnd,
        UnquotedValue,
        DoubleQuoteValue,
        DoubleQuoteValueQuote,
        SingleQuoteValue,
        SingleQuoteValueQuote,
        QuotedValueEnd,
        NullTermination,
    }

    /// <summary>Reads every entry of <paramref name="connectionString"/> into <paramref name="entries"/>.</summary>
    /// <returns><see langword="false"/> when the string does not follow the syntax; <paramref name="errorIndex"/> is then the
    /// position SqlClient's parser reports ("starting at index N").</returns>
    internal static bool TryTokenize(string connectionString, List<SqlConnectionStringEntry> entries, out int errorIndex)
    {
        var buffer = new StringBuilder();
        var position = 0;
        while (position < connectionString.Length)
        {
            if (!TryReadEntry(connectionString, ref position, buffer, out var entry, out errorIndex))
            {
                return false;
            }

            if (entry is not { } found)
            {
                break;
            }

            entries.Add(found);
        }

        errorIndex = -1;
        return true;
    }

    private static bool TryReadEntry(string s, ref int position, StringBuilder buffer, out SqlConnectionStringEntry? entry, out int errorIndex)
    {
        entry = null;
        errorIndex = -1;
        buffer.Clear();
        var start = position;
        string? key = null;
        string? value = null;
        var quoted = false;
        var current = '\0';
        var state = State.NothingYet;
        var at = position;
        for (; at < s.Length; at++)
        {
            current = s[at];
            switch (state)
            {
                case State.NothingYet:
                    if (current == ';' || char.IsWhiteSpace(current))
                    {
                        continue;
                    }

                    if (current == '\0')
                    {
                        state = State.NullTermination;
                        continue;
                    }

                    if (char.IsControl(current))
                    {
                        return Fail(start, out errorIndex);
                    }

                    start = at;
                    if (current == '=')
                    {
                        state = State.KeyEqual;
                        continue;
                    }

                    state = State.Key;
                    break;

                case State.Key:
                    if (current == '=')
                    {
                        state = State.KeyEqual;
                        continue;
                    }

                    if (!char.IsWhiteSpace(current) && char.IsControl(current))
                    {
                        return Fail(start, out errorIndex);
                    }

                    break;

                case State.KeyEqual:
                    if (current == '=')
                    {
                        // "==" is a literal '=' in the keyword.
                        state = State.Key;
                        break;
                    }

                    key = KeyName(buffer);
                    if (key.Length == 0)
                    {
                        return Fail(start, out errorIndex);
                    }

                    buffer.Clear();
                    state = State.KeyEnd;
                    goto case State.KeyEnd;

                case State.KeyEnd:
                    if (char.IsWhiteSpace(current))
                    {
                        continue;
                    }

                    if (current == '\'')
                    {
                        state = State.SingleQuoteValue;
                        continue;
                    }

                    if (current == '"')
                    {
                        state = State.DoubleQuoteValue;
                        continue;
                    }

                    if (current == ';' || current == '\0')
                    {
                        goto Exit;
                    }

                    if (char.IsControl(current))
                    {
                        return Fail(start, out errorIndex);
                    }

                    state = State.UnquotedValue;
                    break;

                case State.UnquotedValue:
                    if (char.IsWhiteSpace(current))
                    {
                        break;
                    }

                    if (char.IsControl(current) || current == ';')
                    {
                        goto Exit;
                    }

                    break;

                case State.DoubleQuoteValue:
                    if (current == '"')
                    {
                        state = State.DoubleQuoteValueQuote;
                        continue;
                    }

                    if (current == '\0')
                    {
                        return Fail(start, out errorIndex);
                    }

                    break;

                case State.DoubleQuoteValueQuote:
                    if (current == '"')
                    {
                        state = State.DoubleQuoteValue;
                        break;
                    }

                    // The value ends here, even if a NUL follows (then the NUL ends the string).
                    value = buffer.ToString();
                    quoted = true;
                    state = State.QuotedValueEnd;
                    goto case State.QuotedValueEnd;

                case State.SingleQuoteValue:
                    if (current == '\'')
                    {
                        state = State.SingleQuoteValueQuote;
                        continue;
                    }

                    if (current == '\0')
                    {
                        return Fail(start, out errorIndex);
                    }

                    break;

                case State.SingleQuoteValueQuote:
                    if (current == '\'')
                    {
                        state = State.SingleQuoteValue;
                        break;
                    }

                    // The value ends here, even if a NUL follows (then the NUL ends the string).
                    value = buffer.ToString();
                    quoted = true;
                    state = State.QuotedValueEnd;
                    goto case State.QuotedValueEnd;

                case State.QuotedValueEnd:
                    if (char.IsWhiteSpace(current))
                    {
                        continue;
                    }

                    if (current == ';')
                    {
                        goto Exit;
                    }

                    if (current == '\0')
                    {
                        state = State.NullTermination;
                        continue;
                    }

                    return Fail(start, out errorIndex);

                case State.NullTermination:
                    if (current == '\0' || char.IsWhiteSpace(current))
                    {
                        continue;
                    }

                    return Fail(at, out errorIndex);
            }

            buffer.Append(current);
        }

    Exit:
        switch (state)
        {
            case State.Key:
            case State.DoubleQuoteValue:
            case State.SingleQuoteValue:
                // No '=' after the keyword, or a quote that is never closed.
                return Fail(start, out errorIndex);

            case State.KeyEqual:
                key = KeyName(buffer);
                if (key.Length == 0)
                {
                    return Fail(start, out errorIndex);
                }

                break;

            case State.UnquotedValue:
                value = buffer.ToString().Trim();
                if (value[^1] is '\'' or '"')
                {
                    // An unquoted value must not end with a quote.
                    return Fail(start, out errorIndex);
                }

                break;

            case State.DoubleQuoteValueQuote:
            case State.SingleQuoteValueQuote:
            case State.QuotedValueEnd:
                value = buffer.ToString();
                quoted = true;
                break;
        }

        if (current == ';' && at < s.Length)
        {
            at++;
        }

        position = at;
        if (key is not null)
        {
            entry = new SqlConnectionStringEntry(key, value, start, quoted);
        }

        return true;
    }

    /// <summary>The keyword without trailing white space (the case is kept; SqlClient compares keywords ignoring case).</summary>
    private static string KeyName(StringBuilder buffer)
    {
        var count = buffer.Length;
        while (count > 0 && char.IsWhiteSpace(buffer[count - 1]))
        {
            count--;
        }

        return buffer.ToString(0, count);
    }

    private static bool Fail(int index, out int errorIndex)
    {
        errorIndex = index;
        return false;
    }
}

using System.Globalization;
using System.Text;

namespace SafeSql.Testing.Tds;

/// <summary>
/// The small T-SQL subset the loopback server understands: <c>SELECT</c> of literals, parameters, a few system variables and
/// functions (several columns, several rows with <c>UNION ALL</c>), <c>WAITFOR DELAY</c>, <c>RAISERROR</c>, <c>THROW</c>,
/// <c>PRINT</c>, <c>SET</c> (accepted, no effect) and <c>USE</c>. Anything else is a compile error 102, as SQL Server reports
/// syntax it cannot parse. Error numbers, classes and states follow SQL Server's (sys.messages).
/// </summary>
internal sealed class SqlSubset
{
    private static readonly string[] s_statementKeywords =
        ["SELECT", "WAITFOR", "RAISERROR", "THROW", "SET", "USE", "PRINT", "BEGIN", "COMMIT", "ROLLBACK", "SAVE", "UNION", "FROM", "WHERE",
         "INTO", "ORDER", "GROUP", "HAVING", "OPTION", "IF", "DECLARE", "EXEC", "EXECUTE", "INSERT", "UPDATE", "DELETE", "GO"];

    private static readonly string[] s_waitForFormats = [@"hh\:mm\:ss\.FFFFFFF", @"hh\:mm\:ss", @"hh\:mm", @"h\:mm\:ss\.FFFFFFF", @"h\:mm\:ss", @"h\:mm"];

    private readonly List<SqlToken> _tokens;
    private readonly SqlContext _context;
    private int _pos;
    private TdsStatement? _error;
    private bool _volatile;
    private bool _lateValues;

    private SqlSubset(List<SqlToken> tokens, SqlContext context)
    {
        _tokens = tokens;
        _context = context;
    }

    private SqlToken Current => _tokens[_pos];

    private SqlToken Peek(int ahead) => _tokens[Math.Min(_pos + ahead, _tokens.Count - 1)];

    /// <summary>Parses a batch into the steps of its reply. A compile error yields a single error step, as SQL Server runs
    /// nothing of a batch that does not compile.</summary>
    public static List<TdsStatement> Parse(string sql, SqlContext context) => Parse(sql, context, out _);

    /// <summary>Parses a batch; <paramref name="repeatable"/> tells whether the same text in the same session and database
    /// always yields the same reply (false when it reads the clock or NEWID()), so the session may reuse the parse.</summary>
    public static List<TdsStatement> Parse(string sql, SqlContext context, out bool repeatable)
    {
        repeatable = true;
        var tokens = SqlLexer.Tokenize(sql, out var unterminated);
        if (tokens is null)
        {
            return unterminated.Text == "/*"
                ? [TdsStatement.Error(113, 15, 1, "Missing end comment mark '*/'.", unterminated.Line, abortsBatch: true)]
                : [TdsStatement.Error(105, 15, 1, $"Unclosed quotation mark after the character string '{Tail(unterminated.Text)}'.", unterminated.Line, abortsBatch: true)];
        }

        var parser = new SqlSubset(tokens, context);
        var statements = new List<TdsStatement>();
        while (parser.Current.Kind != SqlTokenKind.End)
        {
            if (parser.Current.IsSymbol(';'))
            {
                parser._pos++;
                continue;
            }

            var statement = parser.ParseStatement();
            if (statement is null)
            {
                return [parser._error!];
            }

            statements.Add(statement);
        }

        repeatable = !parser._volatile;
        return statements;
    }

    private static string Tail(string text) => text.Length > 1 && text[0] is 'N' or 'n' ? text[2..] : text.Length > 0 ? text[1..] : text;

    private TdsStatement? ParseStatement()
    {
        var token = Current;
        if (token.IsWord("SELECT"))
        {
            return ParseSelect();
        }

        if (token.IsWord("WAITFOR"))
        {
            return ParseWaitFor();
        }

        if (token.IsWord("RAISERROR"))
        {
            return ParseRaiseError();
        }

        if (token.IsWord("THROW"))
        {
            return ParseThrow();
        }

        if (token.IsWord("PRINT"))
        {
            _pos++;
            var value = ParseExpression();
            if (value is null)
            {
                return null;
            }

            return TdsStatement.Error(0, 0, 1, Convert.ToString(value.Value, CultureInfo.InvariantCulture) ?? string.Empty, token.Line);
        }

        if (token.IsWord("SET"))
        {
            _pos++;
            if (Current.Kind != SqlTokenKind.Word)
            {
                return SyntaxError(Current);
            }

            while (Current.Kind != SqlTokenKind.End && !Current.IsSymbol(';') && !(Current.Kind == SqlTokenKind.Word && _pos > 0 && IsStatementStart(Current)))
            {
                _pos++;
            }

            return TdsStatement.NoOp();
        }

        if (token.IsWord("BEGIN") && (Peek(1).IsWord("TRAN") || Peek(1).IsWord("TRANSACTION")))
        {
            _pos += 2;
            SkipTransactionName();
            return TdsStatement.Transaction(TdsStatementKind.BeginTransaction, token.Line);
        }

        if (token.IsWord("COMMIT") || token.IsWord("ROLLBACK"))
        {
            _pos++;
            if (Current.IsWord("TRAN") || Current.IsWord("TRANSACTION") || Current.IsWord("WORK"))
            {
                _pos++;
            }

            SkipTransactionName();
            return TdsStatement.Transaction(token.IsWord("COMMIT") ? TdsStatementKind.CommitTransaction : TdsStatementKind.RollbackTransaction, token.Line);
        }

        if (token.IsWord("SAVE") && (Peek(1).IsWord("TRAN") || Peek(1).IsWord("TRANSACTION")))
        {
            _pos += 2;
            if (Current.Kind is not (SqlTokenKind.Word or SqlTokenKind.Variable))
            {
                return SyntaxError(Current);
            }

            _pos++;
            return TdsStatement.Transaction(TdsStatementKind.SaveTransaction, token.Line);
        }

        if (token.IsWord("USE"))
        {
            _pos++;
            if (Current.Kind != SqlTokenKind.Word)
            {
                return SyntaxError(Current);
            }

            var database = Current.Text;
            _pos++;
            return TdsStatement.Use(database);
        }

        return SyntaxError(token);
    }

    private static bool IsStatementStart(SqlToken token) =>
        token.IsWord("SELECT") || token.IsWord("WAITFOR") || token.IsWord("RAISERROR") || token.IsWord("THROW") || token.IsWord("SET")
        || token.IsWord("USE") || token.IsWord("PRINT") || token.IsWord("BEGIN") || token.IsWord("COMMIT") || token.IsWord("ROLLBACK")
        || token.IsWord("SAVE");

    private void SkipTransactionName()
    {
        if (Current.Kind == SqlTokenKind.Variable || (Current.Kind == SqlTokenKind.Word && !IsKeyword(Current) && !IsStatementStart(Current)))
        {
            _pos++;
        }
    }

    private TdsStatement? SyntaxError(SqlToken near)
    {
        if (near.Kind == SqlTokenKind.End)
        {
            near = _pos > 0 ? _tokens[_pos - 1] : near;
        }

        var text = near.Kind switch
        {
            SqlTokenKind.String => near.Text,
            SqlTokenKind.UnicodeString => near.Text,
            _ => near.Text,
        };
        _error = TdsStatement.Error(102, 15, 1, $"Incorrect syntax near '{text}'.", near.Line, abortsBatch: true);
        return null;
    }

    private TdsStatement? Fail(int number, byte severity, byte state, string message, SqlToken at)
    {
        _error = TdsStatement.Error(number, severity, state, message, at.Line, abortsBatch: true);
        return null;
    }

    private TdsStatement? ParseSelect()
    {
        var names = new List<string>();
        var rows = new List<List<SqlValue>>();
        var first = true;
        while (true)
        {
            _pos++; // SELECT
            var row = new List<SqlValue>();
            while (true)
            {
                string? alias = null;
                if (Current.Kind == SqlTokenKind.Word && Peek(1).IsSymbol('=') && !IsKeyword(Current))
                {
                    alias = Current.Text;
                    _pos += 2;
                }

                var value = ParseExpression();
                if (value is null)
                {
                    return null;
                }

                if (Current.IsWord("AS"))
                {
                    _pos++;
                    if (Current.Kind is not (SqlTokenKind.Word or SqlTokenKind.String))
                    {
                        return SyntaxError(Current);
                    }

                    alias = Current.Text;
                    _pos++;
                }
                else if ((Current.Kind == SqlTokenKind.Word && !IsKeyword(Current)) || Current.Kind == SqlTokenKind.String)
                {
                    alias = Current.Text;
                    _pos++;
                }

                row.Add(value);
                if (first)
                {
                    names.Add(alias ?? string.Empty);
                }

                if (!Current.IsSymbol(','))
                {
                    break;
                }

                _pos++;
            }

            if (!first && row.Count != names.Count)
            {
                return Fail(205, 16, 1, "All queries combined using a UNION, INTERSECT or EXCEPT operator must have an equal number of expressions in their target lists.", Current);
            }

            rows.Add(row);
            first = false;
            if (Current.IsWord("UNION") && Peek(1).IsWord("ALL") && Peek(2).IsWord("SELECT"))
            {
                _pos += 2;
                continue;
            }

            if (Current.Kind == SqlTokenKind.End || Current.IsSymbol(';') || IsStatementStart(Current))
            {
                break;
            }

            return SyntaxError(Current);
        }

        var columns = new TdsColumn[names.Count];
        for (var c = 0; c < columns.Length; c++)
        {
            SqlValue? typed = null;
            var nullable = false;
            var maxLength = 1;
            byte scale = 0;
            foreach (var row in rows)
            {
                var v = row[c];
                nullable |= v.Nullable || v.Value is null;
                if (typed is null && v.Value is not null)
                {
                    typed = v;
                }

                maxLength = Math.Max(maxLength, v.MaxLength);
                scale = Math.Max(scale, v.Scale);
            }

            typed ??= rows[0][c];
            if (typed.Kind is TdsColumnKind.DateTime2 or TdsColumnKind.Time or TdsColumnKind.DateTimeOffset)
            {
                scale = typed.Scale;
            }

            // A column mixing varchar and nvarchar literals becomes nvarchar, as SQL Server's type precedence does.
            var kind = typed.Kind;
            if (kind == TdsColumnKind.VarChar && rows.Exists(r => r[c].Kind == TdsColumnKind.NVarChar))
            {
                kind = TdsColumnKind.NVarChar;
            }

            columns[c] = new TdsColumn(names[c], kind, nullable || rows.Count > 1 && rows.Exists(r => r[c].Value is null), maxLength, scale);
        }

        var values = new List<IReadOnlyList<object?>>(rows.Count);
        foreach (var row in rows)
        {
            var array = new object?[row.Count];
            for (var c = 0; c < array.Length; c++)
            {
                array[c] = row[c].Value;
            }

            values.Add(array);
        }

        var late = _lateValues;
        _lateValues = false;
        return TdsStatement.Select(columns, values, late);
    }

    private static bool IsKeyword(SqlToken token)
    {
        foreach (var keyword in s_statementKeywords)
        {
            if (token.IsWord(keyword))
            {
                return true;
            }
        }

        return token.IsWord("AS") || token.IsWord("ALL") || token.IsWord("NULL");
    }

    private SqlValue? ParseExpression()
    {
        var token = Current;
        switch (token.Kind)
        {
            case SqlTokenKind.Symbol when (token.IsSymbol('-') || token.IsSymbol('+')) && Peek(1).Kind == SqlTokenKind.Number:
                _pos++;
                var number = ParseNumber(Current, negative: token.IsSymbol('-'));
                if (number is not null)
                {
                    _pos++;
                }

                return number;
            case SqlTokenKind.Symbol when token.IsSymbol('('):
                _pos++;
                var inner = ParseExpression();
                if (inner is null)
                {
                    return null;
                }

                if (!Current.IsSymbol(')'))
                {
                    SyntaxError(Current);
                    return null;
                }

                _pos++;
                return inner;
            case SqlTokenKind.Number:
                var literal = ParseNumber(token, negative: false);
                if (literal is not null)
                {
                    _pos++;
                }

                return literal;
            case SqlTokenKind.String:
                _pos++;
                return IsAscii(token.Text)
                    ? new SqlValue(TdsColumnKind.VarChar, token.Text, maxLength: Math.Max(1, token.Text.Length))
                    : new SqlValue(TdsColumnKind.NVarChar, token.Text, maxLength: Math.Max(1, token.Text.Length));
            case SqlTokenKind.UnicodeString:
                _pos++;
                return new SqlValue(TdsColumnKind.NVarChar, token.Text, maxLength: Math.Max(1, token.Text.Length));
            case SqlTokenKind.Word when token.IsWord("NULL"):
                _pos++;
                return new SqlValue(TdsColumnKind.Int, null, nullable: true);
            case SqlTokenKind.Variable:
                _pos++;
                foreach (var parameter in _context.Parameters)
                {
                    if (string.Equals(parameter.Name, token.Text, StringComparison.OrdinalIgnoreCase))
                    {
                        var c = parameter.Column;
                        var length = parameter.Value switch
                        {
                            string s => s.Length,
                            byte[] b => b.Length,
                            _ => c.MaxLength,
                        };
                        return new SqlValue(c.Kind, parameter.Value, nullable: true, maxLength: Math.Max(1, length), scale: c.Scale);
                    }
                }

                _error = TdsStatement.Error(137, 15, 2, $"Must declare the scalar variable \"{token.Text}\".", token.Line, abortsBatch: true);
                return null;
            case SqlTokenKind.SystemVariable:
                _pos++;
                return SystemVariable(token);
            case SqlTokenKind.Word when Peek(1).IsSymbol('('):
                return ParseFunction(token);
            default:
                SyntaxError(token);
                return null;
        }
    }

    private SqlValue? SystemVariable(SqlToken token)
    {
        switch (token.Text.ToUpperInvariant())
        {
            case "@@SPID":
                return new SqlValue(TdsColumnKind.SmallInt, (short)_context.SessionId);
            case "@@VERSION":
                return new SqlValue(TdsColumnKind.NVarChar, _context.VersionText, maxLength: 300);
            case "@@SERVERNAME":
                return new SqlValue(TdsColumnKind.NVarChar, _context.ServerName, nullable: true, maxLength: 128);
            case "@@TRANCOUNT":
                _lateValues = true;
                return new SqlValue(TdsColumnKind.Int, TdsStatement.TranCount);
            case "@@LANGUAGE":
                return new SqlValue(TdsColumnKind.NVarChar, "us_english", maxLength: 128);
            case "@@ROWCOUNT":
                return new SqlValue(TdsColumnKind.Int, 0);
            default:
                _error = TdsStatement.Error(137, 15, 2, $"Must declare the scalar variable \"{token.Text}\".", token.Line, abortsBatch: true);
                return null;
        }
    }

    private SqlValue? ParseFunction(SqlToken name)
    {
        _pos += 2; // name (
        if (!Current.IsSymbol(')'))
        {
            SyntaxError(Current);
            return null;
        }

        _pos++;
        _volatile = true;
        var now = _context.TimeProvider.GetUtcNow();
        switch (name.Text.ToUpperInvariant())
        {
            case "DB_NAME":
                return new SqlValue(TdsColumnKind.NVarChar, _context.Database, nullable: true, maxLength: 128);
            case "SUSER_SNAME":
                // The session's login: the user name, or the identity of the access token it logged in with.
                return new SqlValue(TdsColumnKind.NVarChar, _context.LoginName, nullable: true, maxLength: 128);
            case "SYSUTCDATETIME":
                return new SqlValue(TdsColumnKind.DateTime2, now.UtcDateTime, scale: 7);
            case "SYSDATETIME":
                return new SqlValue(TdsColumnKind.DateTime2, _context.TimeProvider.GetLocalNow().DateTime, scale: 7);
            case "GETUTCDATE":
                return new SqlValue(TdsColumnKind.DateTime2, now.UtcDateTime, scale: 3);
            case "GETDATE":
                return new SqlValue(TdsColumnKind.DateTime2, _context.TimeProvider.GetLocalNow().DateTime, scale: 3);
            case "SYSDATETIMEOFFSET":
                return new SqlValue(TdsColumnKind.DateTimeOffset, _context.TimeProvider.GetLocalNow(), scale: 7);
            case "NEWID":
                return new SqlValue(TdsColumnKind.UniqueIdentifier, Guid.NewGuid());
            default:
                _error = TdsStatement.Error(195, 15, 10, $"'{name.Text}' is not a recognized built-in function name.", name.Line, abortsBatch: true);
                return null;
        }
    }

    private SqlValue? ParseNumber(SqlToken token, bool negative)
    {
        var text = negative ? "-" + token.Text : token.Text;
        if (text.Contains('e', StringComparison.OrdinalIgnoreCase))
        {
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
            {
                return new SqlValue(TdsColumnKind.Float, d);
            }
        }
        else if (text.Contains('.', StringComparison.Ordinal))
        {
            if (decimal.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out var m))
            {
                var scale = (byte)(text.Length - text.IndexOf('.', StringComparison.Ordinal) - 1);
                return new SqlValue(TdsColumnKind.Decimal, m, scale: scale);
            }
        }
        else if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            // SQL Server types an integer literal as int when it fits, otherwise as numeric(p, 0).
            return l is >= int.MinValue and <= int.MaxValue
                ? new SqlValue(TdsColumnKind.Int, (int)l)
                : new SqlValue(TdsColumnKind.Decimal, (decimal)l);
        }
        else if (decimal.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big))
        {
            return new SqlValue(TdsColumnKind.Decimal, big);
        }

        SyntaxError(token);
        return null;
    }

    private TdsStatement? ParseWaitFor()
    {
        var start = Current;
        _pos++;
        if (!Current.IsWord("DELAY"))
        {
            return SyntaxError(Current);
        }

        _pos++;
        var token = Current;
        string? text = token.Kind is SqlTokenKind.String or SqlTokenKind.UnicodeString ? token.Text : null;
        if (token.Kind == SqlTokenKind.Variable)
        {
            var value = ParseExpression();
            if (value is null)
            {
                return null;
            }

            text = Convert.ToString(value.Value, CultureInfo.InvariantCulture);
            _pos--;
        }

        if (text is null)
        {
            return SyntaxError(token);
        }

        _pos++;
        if (!TimeSpan.TryParseExact(text.Trim(), s_waitForFormats, CultureInfo.InvariantCulture, out var delay) || delay >= TimeSpan.FromDays(1))
        {
            return Fail(148, 15, 1, $"Incorrect time syntax in time string '{text}' used with WAITFOR.", start);
        }

        return TdsStatement.WaitFor(delay);
    }

    private TdsStatement? ParseRaiseError()
    {
        var start = Current;
        _pos++;
        if (!Current.IsSymbol('('))
        {
            return SyntaxError(Current);
        }

        _pos++;
        var arguments = new List<SqlValue>();
        while (true)
        {
            var value = ParseExpression();
            if (value is null)
            {
                return null;
            }

            arguments.Add(value);
            if (Current.IsSymbol(','))
            {
                _pos++;
                continue;
            }

            if (Current.IsSymbol(')'))
            {
                _pos++;
                break;
            }

            return SyntaxError(Current);
        }

        if (arguments.Count < 3)
        {
            return SyntaxError(_tokens[_pos - 1]);
        }

        if (Current.IsWord("WITH"))
        {
            _pos++;
            while (Current.IsWord("LOG") || Current.IsWord("NOWAIT") || Current.IsWord("SETERROR"))
            {
                _pos++;
                if (!Current.IsSymbol(','))
                {
                    break;
                }

                _pos++;
            }
        }

        var severity = (byte)Math.Clamp(ToInt(arguments[1].Value), 0, 25);
        var state = (byte)Math.Clamp(ToInt(arguments[2].Value), 0, 255);
        var message = arguments[0].Value;
        if (message is string format)
        {
            return TdsStatement.Error(50000, severity, state, Format(format, arguments.Skip(3)), start.Line);
        }

        // RAISERROR(msg_id, ...) with an id that sys.messages does not know (this server knows none).
        var id = ToInt(message);
        return TdsStatement.Error(
            18054,
            severity,
            state,
            $"Error {id}, severity {severity}, state {state} was raised, but no message with that error number was found in sys.messages. If error is larger than 50000, make sure the user-defined message is added using sp_addmessage.",
            start.Line);
    }

    private TdsStatement? ParseThrow()
    {
        var start = Current;
        _pos++;
        if (Current.Kind == SqlTokenKind.End || Current.IsSymbol(';'))
        {
            return TdsStatement.Error(10704, 15, 1, "To rethrow an error, a THROW statement must be used inside a CATCH block. Insert the THROW statement inside a CATCH block, or add error parameters to the THROW statement.", start.Line, abortsBatch: true);
        }

        var values = new SqlValue[3];
        for (var i = 0; i < 3; i++)
        {
            var value = ParseExpression();
            if (value is null)
            {
                return null;
            }

            values[i] = value;
            if (i < 2)
            {
                if (!Current.IsSymbol(','))
                {
                    return SyntaxError(Current);
                }

                _pos++;
            }
        }

        var number = ToInt(values[0].Value);
        var state = ToInt(values[2].Value);
        if (number < 50000)
        {
            return TdsStatement.Error(35100, 16, 10, $"Error number {number} in the THROW statement is outside the valid range. Specify an error number in the valid range of 50000 to 2147483647.", start.Line, abortsBatch: true);
        }

        if (state is < 0 or > 255)
        {
            return TdsStatement.Error(35101, 16, 10, $"State {state} in the THROW statement is outside the valid range. Specify a state in the valid range of 0 to 255.", start.Line, abortsBatch: true);
        }

        return TdsStatement.Error(number, 16, (byte)state, Convert.ToString(values[1].Value, CultureInfo.InvariantCulture) ?? string.Empty, start.Line, abortsBatch: true);
    }

    private static int ToInt(object? value) => value switch
    {
        string s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : 0,
        int or long or short or byte or decimal or double or float or bool =>
            (int)Math.Clamp(Convert.ToDecimal(value, CultureInfo.InvariantCulture), int.MinValue, int.MaxValue),
        _ => 0,
    };

    private static bool IsAscii(string text)
    {
        foreach (var c in text)
        {
            if (c > 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Formats a RAISERROR message: <c>%d %i %u %s %x %X %o</c> (with optional flags, width, precision, h/l) take the
    /// next argument, <c>%%</c> is a percent sign.</summary>
    private static string Format(string format, IEnumerable<SqlValue> arguments)
    {
        using var args = arguments.GetEnumerator();
        var builder = new StringBuilder(format.Length);
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if (c != '%' || i + 1 >= format.Length)
            {
                builder.Append(c);
                continue;
            }

            if (format[i + 1] == '%')
            {
                builder.Append('%');
                i++;
                continue;
            }

            var j = i + 1;
            while (j < format.Length && "-+ 0#123456789.*hlI64".Contains(format[j], StringComparison.Ordinal))
            {
                j++;
            }

            if (j >= format.Length || !"diosuxX".Contains(format[j], StringComparison.Ordinal))
            {
                builder.Append(c);
                continue;
            }

            var type = format[j];
            var value = args.MoveNext() ? args.Current.Value : null;
            builder.Append(value switch
            {
                null => "(null)",
                _ when type is 'x' => ToInt(value).ToString("x", CultureInfo.InvariantCulture),
                _ when type is 'X' => ToInt(value).ToString("X", CultureInfo.InvariantCulture),
                _ => Convert.ToString(value, CultureInfo.InvariantCulture),
            });
            i = j;
        }

        return builder.ToString();
    }

    private sealed class SqlValue
    {
        public SqlValue(TdsColumnKind kind, object? value, bool nullable = false, int maxLength = 0, byte scale = 0)
        {
            Kind = kind;
            Value = value;
            Nullable = nullable;
            MaxLength = maxLength;
            Scale = scale;
        }

        public TdsColumnKind Kind { get; }

        public object? Value { get; }

        public bool Nullable { get; }

        public int MaxLength { get; }

        public byte Scale { get; }
    }
}

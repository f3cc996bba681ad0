namespace SafeSql.Testing.Tds;

/// <summary>One step of a request's reply, produced by the SQL subset or by a <see cref="LoopbackResponse"/>.</summary>
internal sealed class TdsStatement
{
    public TdsStatementKind Kind { get; private init; }

    public IReadOnlyList<TdsColumn> Columns { get; private init; } = [];

    public IReadOnlyList<IReadOnlyList<object?>> Rows { get; private init; } = [];

    public int Number { get; private init; }

    public byte Severity { get; private init; }

    public byte State { get; private init; }

    public string Message { get; private init; } = string.Empty;

    public int Line { get; private init; } = 1;

    /// <summary>Gets whether an error stops the rest of the batch (THROW, compile errors) instead of only the statement.</summary>
    public bool AbortsBatch { get; private init; }

    public TimeSpan Delay { get; private init; }

    public string Database { get; private init; } = string.Empty;

    public long RowCount { get; private init; }

    /// <summary>Gets whether a row holds <see cref="TranCount"/>, to be replaced by the session's value when the step runs.</summary>
    public bool HasLateValues { get; private init; }

    /// <summary>Gets the rows this statement wrote (an INSERT, UPDATE or DELETE): the server applies them at once outside a
    /// transaction and at COMMIT inside one, and counts them in <see cref="LoopbackSqlServerCounters.RowsWritten"/>.</summary>
    public long RowsWritten { get; private init; }

    /// <summary>Gets the placeholder for <c>@@TRANCOUNT</c>, whose value depends on the statements before it in the batch.</summary>
    public static object TranCount { get; } = new();

    public static TdsStatement Select(IReadOnlyList<TdsColumn> columns, IReadOnlyList<IReadOnlyList<object?>> rows, bool hasLateValues = false) =>
        new() { Kind = TdsStatementKind.Select, Columns = columns, Rows = rows, RowCount = rows.Count, HasLateValues = hasLateValues };

    public static TdsStatement Error(int number, byte severity, byte state, string message, int line = 1, bool abortsBatch = false) =>
        new() { Kind = TdsStatementKind.Error, Number = number, Severity = severity, State = state, Message = message, Line = line, AbortsBatch = abortsBatch };

    public static TdsStatement WaitFor(TimeSpan delay) => new() { Kind = TdsStatementKind.WaitFor, Delay = delay };

    public static TdsStatement NoOp() => new() { Kind = TdsStatementKind.NoOp };

    public static TdsStatement Use(string database) => new() { Kind = TdsStatementKind.Use, Database = database };

    public static TdsStatement RowsAffected(long count) => new() { Kind = TdsStatementKind.RowsAffected, RowCount = count, RowsWritten = count };

    /// <summary>The same statement, marked as having written <paramref name="rows"/> rows.</summary>
    public TdsStatement WithRowsWritten(long rows) => new()
    {
        Kind = Kind,
        Columns = Columns,
        Rows = Rows,
        Number = Number,
        Severity = Severity,
        State = State,
        Message = Message,
        Line = Line,
        AbortsBatch = AbortsBatch,
        Delay = Delay,
        Database = Database,
        RowCount = RowCount,
        HasLateValues = HasLateValues,
        RowsWritten = rows,
    };

    public static TdsStatement Disconnect() => new() { Kind = TdsStatementKind.Disconnect };

    public static TdsStatement Transaction(TdsStatementKind kind, int line = 1) => new() { Kind = kind, Line = line };
}

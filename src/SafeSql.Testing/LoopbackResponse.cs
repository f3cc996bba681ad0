using SafeSql.Testing.Tds;

namespace SafeSql.Testing;

/// <summary>A reply a <see cref="LoopbackSqlServer.BatchHandler"/> gives instead of the built-in SQL subset: a result set,
/// an error, a row count, or a dropped connection.</summary>
public sealed class LoopbackResponse
{
    private LoopbackResponse(TdsStatement statement)
    {
        Statements = [statement];
    }

    private LoopbackResponse(TdsStatement[] statements)
    {
        Statements = statements;
    }

    /// <summary>Gets a reply with no result set and no row count (a bare DONE token), as for <c>SET NOCOUNT ON</c>.</summary>
    public static LoopbackResponse Empty { get; } = new(TdsStatement.NoOp());

    /// <summary>Gets the statements the reply answers with, in order (one, except for <see cref="Batch"/>).</summary>
    internal IReadOnlyList<TdsStatement> Statements { get; }

    /// <summary>Creates an error reply: an ERROR token (an INFO token when <paramref name="severity"/> is 10 or less) then DONE
    /// with the error bit. SqlClient throws <c>SqlException</c> with this <c>Number</c>, <c>Class</c> and <c>State</c> for
    /// severity 11 or more; severity 20 or more also closes the connection, as SQL Server does for fatal errors, and the client
    /// drops it from the pool.</summary>
    /// <param name="number">The error number, e.g. 1205 (deadlock victim), 40613 (database not currently available), 50000 (RAISERROR).</param>
    /// <param name="severity">The severity (SqlClient's <c>Class</c>), 0 to 25.</param>
    /// <param name="state">The state, 0 to 255.</param>
    /// <param name="message">The message text.</param>
    /// <returns>The reply.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="severity"/> is outside 0..25 or <paramref name="state"/> outside 0..255.</exception>
    public static LoopbackResponse Error(int number, int severity, int state, string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentOutOfRangeException.ThrowIfNegative(severity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(severity, 25);
        ArgumentOutOfRangeException.ThrowIfNegative(state);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(state, 255);
        return new(TdsStatement.Error(number, (byte)severity, (byte)state, message));
    }

    /// <summary>Creates a result-set reply. Each column's SQL type comes from the first non-null value in it: <see cref="int"/> int,
    /// <see cref="long"/> bigint, <see cref="short"/> smallint, <see cref="byte"/> tinyint, <see cref="bool"/> bit, <see cref="double"/>
    /// float, <see cref="float"/> real, <see cref="decimal"/> decimal(38, s), <see cref="string"/> nvarchar, <see cref="DateTime"/>
    /// datetime2(7), <see cref="DateOnly"/> date, <see cref="TimeSpan"/> time(7), <see cref="DateTimeOffset"/> datetimeoffset(7),
    /// <see cref="Guid"/> uniqueidentifier, <c>byte[]</c> varbinary; a column of only nulls is int. Every column is nullable.</summary>
    /// <param name="columnNames">The column names (an empty name is allowed, as for <c>SELECT 1</c>).</param>
    /// <param name="rows">The rows; each has one value per column, <see langword="null"/> or <see cref="DBNull"/> for NULL.</param>
    /// <returns>The reply.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="columnNames"/> or <paramref name="rows"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A row does not have one value per column, or a value has an unsupported type.</exception>
    public static LoopbackResponse Rows(IReadOnlyList<string> columnNames, params object?[][] rows)
    {
        ArgumentNullException.ThrowIfNull(columnNames);
        ArgumentNullException.ThrowIfNull(rows);
        var columns = new TdsColumn[columnNames.Count];
        for (var c = 0; c < columns.Length; c++)
        {
            object? sample = null;
            var maxLength = 1;
            byte scale = 0;
            foreach (var row in rows)
            {
                if (row is null || row.Length != columns.Length)
                {
                    throw new ArgumentException(
                        $"Every row must have {columns.Length} values, one per column; a row has {row?.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"}.",
                        nameof(rows));
                }

                var value = row[c] is DBNull ? null : row[c];
                sample ??= value;
                switch (value)
                {
                    case string s:
                        maxLength = Math.Max(maxLength, s.Length);
                        break;
                    case byte[] b:
                        maxLength = Math.Max(maxLength, b.Length);
                        break;
                    case decimal d:
                        scale = Math.Max(scale, d.Scale);
                        break;
                }
            }

            columns[c] = TdsValues.ColumnFor(columnNames[c] ?? string.Empty, sample, nullable: true, maxLength, scale)
                ?? throw new ArgumentException($"Column '{columnNames[c]}' has a value of unsupported type {sample!.GetType()}.", nameof(rows));
        }

        return new(TdsStatement.Select(columns, rows));
    }

    /// <summary>Creates a reply that reports <paramref name="rowsAffected"/> rows affected (a DONE token with a row count, as an
    /// INSERT, UPDATE or DELETE produces); <c>ExecuteNonQuery</c> returns it. The server counts the rows as written
    /// (<see cref="WithRowsWritten"/>).</summary>
    /// <param name="rowsAffected">The row count, 0 or more.</param>
    /// <returns>The reply.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rowsAffected"/> is negative.</exception>
    public static LoopbackResponse RowsAffected(long rowsAffected)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowsAffected);
        return new(TdsStatement.RowsAffected(rowsAffected));
    }

    /// <summary>
    /// Returns this reply marked as the answer of a statement that wrote <paramref name="rows"/> rows, e.g. an
    /// <c>INSERT ... OUTPUT INSERTED.[Id]</c> answered with <see cref="Rows"/>. The server applies them as SQL Server does: at
    /// once outside a transaction, at the COMMIT that ends the transaction inside one, never when the transaction rolls back or
    /// its connection dies first; <see cref="LoopbackSqlServerCounters.RowsWritten"/> counts the applied rows, so a test can
    /// tell from the server's side how many times a change was applied.
    /// </summary>
    /// <param name="rows">The rows written, 0 or more.</param>
    /// <returns>A new reply; this one is unchanged.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rows"/> is negative.</exception>
    /// <exception cref="InvalidOperationException">This reply answers several statements (<see cref="Batch"/>): mark each one before batching them.</exception>
    public LoopbackResponse WithRowsWritten(long rows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (Statements.Count != 1)
        {
            throw new InvalidOperationException("WithRowsWritten marks the reply of one statement; mark each reply before passing them to Batch.");
        }

        return new(Statements[0].WithRowsWritten(rows));
    }

    /// <summary>Creates a reply that aborts the connection (RST) instead of answering, as a server crash or a network failure in
    /// the middle of a request does; SqlClient reports a transport-level error (class 20) and drops the connection from the pool.</summary>
    /// <returns>The reply.</returns>
    public static LoopbackResponse Disconnect() => new(TdsStatement.Disconnect());

    /// <summary>
    /// Creates a reply to a batch of several statements: the replies in order, each ended by its own DONE token (with the
    /// "more" bit on all but the last), as SQL Server answers a multi-statement batch. EF Core's <c>SaveChanges</c> needs it:
    /// it sends its INSERT, UPDATE and DELETE statements in one batch and reads one result set (or row count) per statement.
    /// </summary>
    /// <param name="responses">The reply of each statement, in order; at least one. An error reply ends the batch there
    /// when its severity is 20 or more (the connection is closed); otherwise the statements after it are still answered.</param>
    /// <returns>The reply.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="responses"/> or one of its items is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="responses"/> is empty.</exception>
    public static LoopbackResponse Batch(params LoopbackResponse[] responses)
    {
        ArgumentNullException.ThrowIfNull(responses);
        if (responses.Length == 0)
        {
            throw new ArgumentException("A batch reply needs the reply of at least one statement.", nameof(responses));
        }

        var statements = new List<TdsStatement>(responses.Length);
        foreach (var response in responses)
        {
            ArgumentNullException.ThrowIfNull(response, nameof(responses));
            statements.AddRange(response.Statements);
        }

        return new([.. statements]);
    }
}

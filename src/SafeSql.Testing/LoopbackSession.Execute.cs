using SafeSql.Testing.Tds;

namespace SafeSql.Testing;

/// <summary>The execution of a request's statements and the reply: result sets, row counts, errors, <c>WAITFOR</c>,
/// <c>USE</c>, transactions and the rows they apply, and the reset-after-executing faults.</summary>
internal sealed partial class LoopbackSession
{
    /// <summary>Rows written inside the open transaction: applied at its COMMIT, dropped when it rolls back.</summary>
    private long _pendingRows;

    private async Task ExecuteAsync(TdsWriter writer, List<TdsStatement> statements, bool isRpc, CancellationToken requestToken, CancellationToken sessionToken)
    {
        var doneToken = isRpc ? TdsConstants.TokenDoneInProc : TdsConstants.TokenDone;
        var anyError = false;
        if (_rolledBackByReset != 0)
        {
            TdsTokens.WriteTransactionEnvChange(writer, TdsConstants.EnvRollbackTransaction, _rolledBackByReset);
            _rolledBackByReset = 0;
        }

        for (var i = 0; i < statements.Count; i++)
        {
            if (requestToken.IsCancellationRequested)
            {
                return; // an attention arrived: the reader loop sends DONE_ATTN
            }

            var statement = statements[i];
            if (statement.Kind == TdsStatementKind.Select && !TryWriteResultSet(writer, statement))
            {
                statement = InternalError(new InvalidCastException($"A value of the result set does not fit its column's type ({string.Join(", ", statement.Columns.Select(c => c.TypeName))})."));
            }

            if (statement.RowsWritten > 0)
            {
                if (_transactionCount > 0)
                {
                    _pendingRows += statement.RowsWritten;
                }
                else
                {
                    Counters.OnRowsWritten(statement.RowsWritten);
                }
            }

            var last = i == statements.Count - 1 || statement.AbortsBatch || (statement.Kind == TdsStatementKind.Error && statement.Severity >= 20);
            var more = isRpc || !last ? TdsConstants.DoneMore : (ushort)0;
            switch (statement.Kind)
            {
                case TdsStatementKind.Select:
                    TdsTokens.WriteDone(writer, doneToken, (ushort)(more | TdsConstants.DoneCount), TdsConstants.CurCmdSelect, statement.Rows.Count);
                    break;
                case TdsStatementKind.Error:
                    WriteError(writer, statement);
                    if (statement.Severity > 10)
                    {
                        anyError = true;
                        TdsTokens.WriteDone(writer, doneToken, (ushort)(more | TdsConstants.DoneError), 0, 0);
                    }
                    else
                    {
                        TdsTokens.WriteDone(writer, doneToken, more, 0, 0);
                    }

                    if (statement.Severity >= 20)
                    {
                        // A fatal error ends the session on the server, as SQL Server does for severity 20-25.
                        await SendAsync(writer, endOfMessage: true, sessionToken).ConfigureAwait(false);
                        Close();
                        return;
                    }

                    break;
                case TdsStatementKind.WaitFor:
                    await SendAsync(writer, endOfMessage: false, sessionToken).ConfigureAwait(false);
                    using (var linked = CancellationTokenSource.CreateLinkedTokenSource(requestToken, sessionToken))
                    {
                        try
                        {
                            await Task.Delay(statement.Delay, _server.Options.TimeProvider, linked.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (requestToken.IsCancellationRequested && !sessionToken.IsCancellationRequested)
                        {
                            return;
                        }
                    }

                    TdsTokens.WriteDone(writer, doneToken, more, 0, 0);
                    break;
                case TdsStatementKind.Use:
                    var old = _database;
                    _database = statement.Database;
                    TdsTokens.WriteEnvChange(writer, TdsConstants.EnvDatabase, _database, old);
                    TdsTokens.WriteMessage(writer, isError: false, 5701, 1, 0, $"Changed database context to '{_database}'.", _server.Options.ServerName, string.Empty, 1);
                    TdsTokens.WriteDone(writer, doneToken, more, 0, 0);
                    break;
                case TdsStatementKind.RowsAffected:
                    TdsTokens.WriteDone(writer, doneToken, (ushort)(more | TdsConstants.DoneCount), 0xC3, statement.RowCount);
                    break;
                case TdsStatementKind.Disconnect:
                    Abort();
                    return;
                case TdsStatementKind.BeginTransaction:
                case TdsStatementKind.CommitTransaction:
                case TdsStatementKind.RollbackTransaction:
                case TdsStatementKind.SaveTransaction:
                    var failed = ExecuteTransaction(writer, statement);
                    anyError |= failed;
                    TdsTokens.WriteDone(writer, doneToken, (ushort)(more | (failed ? TdsConstants.DoneError : 0)), 0, 0);
                    break;
                default:
                    TdsTokens.WriteDone(writer, doneToken, more, 0, 0);
                    break;
            }

            if (last)
            {
                break;
            }
        }

        if (statements.Count == 0 && !isRpc)
        {
            TdsTokens.WriteDone(writer, TdsConstants.TokenDone, TdsConstants.DoneFinal, 0, 0);
        }

        if (_resetInsteadOfReply)
        {
            // Executed and applied; the client gets a reset instead of the reply and cannot tell whether it ran.
            _resetInsteadOfReply = false;
            writer.Reset();
            Abort();
            return;
        }

        if (isRpc)
        {
            TdsTokens.WriteReturnStatus(writer, 0);
            TdsTokens.WriteDone(writer, TdsConstants.TokenDoneProc, anyError ? TdsConstants.DoneError : TdsConstants.DoneFinal, 0, 0);
        }

        await SendAsync(writer, endOfMessage: true, sessionToken).ConfigureAwait(false);
    }

    /// <summary>Runs BEGIN/COMMIT/ROLLBACK/SAVE TRANSACTION like SQL Server (nested BEGINs count; ROLLBACK ends all).</summary>
    /// <returns>Whether an error was written.</returns>
    private bool ExecuteTransaction(TdsWriter writer, TdsStatement statement)
    {
        TdsStatement? error = null;
        switch (statement.Kind)
        {
            case TdsStatementKind.BeginTransaction:
                if (_transactionCount++ == 0)
                {
                    _transactionId = _server.NextTransactionId();
                    TdsTokens.WriteTransactionEnvChange(writer, TdsConstants.EnvBeginTransaction, _transactionId);
                }

                break;
            case TdsStatementKind.CommitTransaction when _transactionCount == 0:
                error = TdsStatement.Error(3902, 16, 1, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.", statement.Line);
                break;
            case TdsStatementKind.CommitTransaction:
                if (--_transactionCount == 0)
                {
                    TdsTokens.WriteTransactionEnvChange(writer, TdsConstants.EnvCommitTransaction, _transactionId);
                    Counters.OnRowsWritten(_pendingRows);
                    Counters.OnTransactionCommitted();
                    _pendingRows = 0;
                    _resetInsteadOfReply |= Faults.ResetAfterCommit;
                }

                break;
            case TdsStatementKind.RollbackTransaction when _transactionCount == 0:
                error = TdsStatement.Error(3903, 16, 1, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.", statement.Line);
                break;
            case TdsStatementKind.RollbackTransaction:
                RollBack();
                TdsTokens.WriteTransactionEnvChange(writer, TdsConstants.EnvRollbackTransaction, _transactionId);
                break;
            case TdsStatementKind.SaveTransaction when _transactionCount == 0:
                error = TdsStatement.Error(628, 16, 0, "Cannot issue SAVE TRANSACTION when there is no active transaction.", statement.Line);
                break;
        }

        if (error is not null)
        {
            WriteError(writer, error);
        }

        return error is not null;
    }

    /// <summary>Ends the open transaction without applying its rows.</summary>
    private void RollBack()
    {
        _transactionCount = 0;
        _pendingRows = 0;
        Counters.OnTransactionRolledBack();
    }

    /// <summary>Writes COLMETADATA and the rows; on a value that does not convert to its column type, drops what it wrote.</summary>
    private bool TryWriteResultSet(TdsWriter writer, TdsStatement statement)
    {
        var mark = writer.Mark();
        try
        {
            TdsTokens.WriteColMetadata(writer, statement.Columns);
            for (var r = 0; r < statement.Rows.Count; r++)
            {
                TdsTokens.WriteRow(writer, statement.Columns, statement.HasLateValues ? ResolveLateValues(statement.Rows[r]) : statement.Rows[r]);
            }

            return true;
        }
        catch (Exception ex) when (ex is InvalidCastException or FormatException or OverflowException or InvalidOperationException)
        {
            writer.Rewind(mark);
            return false;
        }
    }

    private static TdsStatement InternalError(Exception ex) =>
        TdsStatement.Error(50000, 16, 1, $"The SafeSql loopback server could not answer this request: {ex.GetType().Name}: {ex.Message}");

    private object?[] ResolveLateValues(IReadOnlyList<object?> row)
    {
        var values = new object?[row.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = ReferenceEquals(row[i], TdsStatement.TranCount) ? _transactionCount : row[i];
        }

        return values;
    }

    private void WriteError(TdsWriter writer, TdsStatement error)
    {
        var procedure = string.Empty;
        TdsTokens.WriteMessage(writer, error.Severity > 10, error.Number, error.State, error.Severity, error.Message, _server.Options.ServerName, procedure, error.Line);
    }
}

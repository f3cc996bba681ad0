using SafeSql.Testing.Tds;

namespace SafeSql.Testing;

/// <summary>The translation of a request into the statements to run: a SQL batch through the T-SQL subset (or the test's
/// <see cref="LoopbackSqlServer.BatchHandler"/>), an RPC call as the batch it stands for, a transaction-manager request as
/// a transaction step.</summary>
internal sealed partial class LoopbackSession
{
    private byte[]? _cachedBatch;
    private string? _cachedDatabase;
    private List<TdsStatement>? _cachedStatements;

    private List<TdsStatement>? Prepare(TdsMessage message, out bool isRpc)
    {
        isRpc = false;
        _resetInsteadOfReply = false;
        LoopbackRequest request;
        string? procedure = null;
        switch (message.Type)
        {
            case TdsConstants.PacketSqlBatch:
            {
                Counters.OnBatch();
                var reader = new SpanReader(message.Payload.Span);
                RpcParser.SkipAllHeaders(ref reader);
                var text = reader.Rest;
                var resetAfterExecuting = Faults.ResetAfterExecuting;
                if (_server.BatchHandler is null && resetAfterExecuting is null && _cachedStatements is not null && ReferenceEquals(_cachedDatabase, _database) && text.SequenceEqual(_cachedBatch))
                {
                    // The same batch again (a health check, a benchmark loop): reuse its parse, allocation-free.
                    return _cachedStatements;
                }

                var sql = System.Text.Encoding.Unicode.GetString(text);
                request = new LoopbackRequest(sql, false, null, [], SessionId, message.ResetConnection);
                _resetInsteadOfReply = resetAfterExecuting?.Invoke(request) == true;
                if (_server.BatchHandler is null)
                {
                    var statements = SqlSubset.Parse(sql, CreateContext(request), out var repeatable);
                    if (repeatable && text.Length <= 4096)
                    {
                        _cachedBatch = text.ToArray();
                        _cachedDatabase = _database;
                        _cachedStatements = statements;
                    }

                    return statements;
                }

                break;
            }

            case TdsConstants.PacketRpc:
            {
                Counters.OnRpc();
                isRpc = true;
                RpcCall call;
                try
                {
                    call = RpcParser.Parse(message.Payload.Span);
                }
                catch (InvalidDataException ex)
                {
                    return [TdsStatement.Error(8009, 16, 1, $"The incoming tabular data stream (TDS) remote procedure call (RPC) protocol stream is incorrect. {ex.Message}")];
                }

                procedure = call.ProcedureName;
                var parameters = new List<LoopbackParameter>(call.Parameters.Count);
                var sql = procedure;
                var isExecuteSql = string.Equals(procedure, "sp_executesql", StringComparison.OrdinalIgnoreCase);
                for (var i = 0; i < call.Parameters.Count; i++)
                {
                    var (name, value, column, output) = call.Parameters[i];
                    if (isExecuteSql && i == 0)
                    {
                        sql = value as string ?? string.Empty;
                        continue;
                    }

                    if (isExecuteSql && i == 1 && name.Length == 0)
                    {
                        continue; // the declaration list, e.g. "@id int"
                    }

                    parameters.Add(new LoopbackParameter(name, value, column, output));
                }

                request = new LoopbackRequest(sql, true, procedure, parameters, SessionId, message.ResetConnection);
                _resetInsteadOfReply = Faults.ResetAfterExecuting?.Invoke(request) == true;
                break;
            }

            case TdsConstants.PacketTransactionManager:
                Counters.OnTransactionRequest();
                return [TransactionManagerRequest(message.Payload.Span)];

            default:
                return null;
        }

        var handler = _server.BatchHandler;
        if (handler is not null)
        {
            LoopbackResponse? response;
            try
            {
                response = handler(request);
            }
#pragma warning disable CA1031 // A failing test hook becomes a SQL error the client sees, not a dead connection.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                return [TdsStatement.Error(50000, 16, 1, $"BatchHandler threw {ex.GetType().Name}: {ex.Message}")];
            }

            if (response is not null)
            {
                return [.. response.Statements];
            }
        }

        if (isRpc && !string.Equals(procedure, "sp_executesql", StringComparison.OrdinalIgnoreCase))
        {
            return [TdsStatement.Error(2812, 16, 62, $"Could not find stored procedure '{procedure}'.")];
        }

        return SqlSubset.Parse(request.Sql, CreateContext(request));
    }

    /// <summary>Maps a transaction-manager request (MS-TDS 2.2.6.9; SqlClient's BeginTransaction, Commit, Rollback, Save) to a step.</summary>
    private static TdsStatement TransactionManagerRequest(ReadOnlySpan<byte> payload)
    {
        var reader = new SpanReader(payload);
        RpcParser.SkipAllHeaders(ref reader);
        var type = reader.Remaining >= 2 ? reader.ReadUInt16() : (ushort)0;
        return type switch
        {
            5 => TdsStatement.Transaction(TdsStatementKind.BeginTransaction),
            7 => TdsStatement.Transaction(TdsStatementKind.CommitTransaction),
            8 => TdsStatement.Transaction(TdsStatementKind.RollbackTransaction),
            9 => TdsStatement.Transaction(TdsStatementKind.SaveTransaction),
            _ => TdsStatement.Error(8501, 16, 3, "MSDTC on server 'SAFESQL-LOOPBACK' is unavailable. (The SafeSql loopback server supports local transactions only.)"),
        };
    }

    private SqlContext CreateContext(LoopbackRequest request) => new()
    {
        SessionId = SessionId,
        Database = _database,
        ServerName = _server.Options.ServerName,
        LoginName = _loginName,
        VersionText = s_versionText,
        TimeProvider = _server.Options.TimeProvider,
        Parameters = request.Parameters,
    };
}

namespace SafeSql.Testing;

/// <summary>A SQL batch or RPC request a client sent, as handed to <see cref="LoopbackSqlServer.BatchHandler"/>.</summary>
public sealed class LoopbackRequest
{
    internal LoopbackRequest(string sql, bool isRpc, string? procedureName, IReadOnlyList<LoopbackParameter> parameters, int sessionId, bool resetConnection)
    {
        Sql = sql;
        IsRpc = isRpc;
        ProcedureName = procedureName;
        Parameters = parameters;
        SessionId = sessionId;
        ResetConnection = resetConnection;
    }

    /// <summary>Gets the SQL text: the batch text, the statement of an <c>sp_executesql</c> RPC, or the procedure name of any
    /// other RPC.</summary>
    public string Sql { get; }

    /// <summary>Gets whether the request is an RPC (TDS packet type 0x03; SqlClient sends one for every command with parameters
    /// and for <see cref="System.Data.CommandType.StoredProcedure"/>) rather than a SQL batch (type 0x01).</summary>
    public bool IsRpc { get; }

    /// <summary>Gets the procedure an RPC calls (<c>sp_executesql</c> for parameterized text), or <see langword="null"/> for a batch.</summary>
    public string? ProcedureName { get; }

    /// <summary>Gets the user parameters (for <c>sp_executesql</c>, the statement and its declaration are not included).</summary>
    public IReadOnlyList<LoopbackParameter> Parameters { get; }

    /// <summary>Gets the session id (SPID) of the connection that sent the request.</summary>
    public int SessionId { get; }

    /// <summary>Gets whether the request carried the RESETCONNECTION bit (first request after a pooled connection was reused).</summary>
    public bool ResetConnection { get; }

    /// <summary>Returns the request kind and SQL text.</summary>
    /// <returns>For example <c>RPC sp_executesql: SELECT @id</c>.</returns>
    public override string ToString() => IsRpc ? $"RPC {ProcedureName}: {Sql}" : $"Batch: {Sql}";
}

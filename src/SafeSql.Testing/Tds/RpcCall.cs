namespace SafeSql.Testing.Tds;

/// <summary>A decoded RPC call.</summary>
internal sealed class RpcCall
{
    public RpcCall(string procedureName, List<(string Name, object? Value, TdsColumn Column, bool Output)> parameters)
    {
        ProcedureName = procedureName;
        Parameters = parameters;
    }

    public string ProcedureName { get; }

    public List<(string Name, object? Value, TdsColumn Column, bool Output)> Parameters { get; }
}

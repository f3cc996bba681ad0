using SafeSql.Testing.Tds;

namespace SafeSql.Testing;

/// <summary>One parameter of an RPC request (for <c>sp_executesql</c>: a user parameter such as <c>@id</c>).</summary>
public sealed class LoopbackParameter
{
    internal LoopbackParameter(string name, object? value, TdsColumn column, bool isOutput)
    {
        Name = name;
        Value = value;
        Column = column;
        IsOutput = isOutput;
    }

    /// <summary>Gets the parameter name with its <c>@</c> prefix, or an empty string for a positional parameter.</summary>
    public string Name { get; }

    /// <summary>Gets the value decoded from the wire: <see cref="int"/>, <see cref="long"/>, <see cref="short"/>, <see cref="byte"/>,
    /// <see cref="bool"/>, <see cref="double"/>, <see cref="float"/>, <see cref="decimal"/>, <see cref="string"/>, <see cref="DateTime"/>,
    /// <see cref="DateOnly"/>, <see cref="TimeSpan"/>, <see cref="DateTimeOffset"/>, <see cref="Guid"/> or <c>byte[]</c>;
    /// <see langword="null"/> for SQL NULL.</summary>
    public object? Value { get; }

    /// <summary>Gets the SQL Server type name the client declared, e.g. <c>int</c>, <c>nvarchar</c>, <c>datetime2</c>.</summary>
    public string TypeName => Column.TypeName;

    /// <summary>Gets whether the client declared the parameter as OUTPUT.</summary>
    public bool IsOutput { get; }

    internal TdsColumn Column { get; }

    /// <summary>Returns the name, type and value.</summary>
    /// <returns>For example <c>@id int = 42</c>.</returns>
    public override string ToString() => $"{Name} {TypeName} = {Value ?? "NULL"}";
}

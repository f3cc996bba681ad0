namespace SafeSql.Testing.Tds;

/// <summary>Metadata of one result column.</summary>
internal sealed class TdsColumn
{
    public TdsColumn(string name, TdsColumnKind kind, bool nullable, int maxLength = 0, byte scale = 7)
    {
        Name = name;
        Kind = kind;
        Nullable = nullable;
        MaxLength = maxLength;
        Scale = scale;
    }

    public string Name { get; }

    public TdsColumnKind Kind { get; }

    public bool Nullable { get; }

    /// <summary>Gets the maximum length: characters for strings, bytes for binary; -1 = max (PLP).</summary>
    public int MaxLength { get; }

    /// <summary>Gets the scale of decimal and time columns.</summary>
    public byte Scale { get; }

    public bool IsPlp => MaxLength < 0 || (Kind == TdsColumnKind.NVarChar && MaxLength > 4000) || MaxLength > 8000;

    public string TypeName => Kind switch
    {
        TdsColumnKind.Int => "int",
        TdsColumnKind.BigInt => "bigint",
        TdsColumnKind.SmallInt => "smallint",
        TdsColumnKind.TinyInt => "tinyint",
        TdsColumnKind.Bit => "bit",
        TdsColumnKind.Float => "float",
        TdsColumnKind.Real => "real",
        TdsColumnKind.Decimal => "decimal",
        TdsColumnKind.NVarChar => "nvarchar",
        TdsColumnKind.VarChar => "varchar",
        TdsColumnKind.DateTime2 => "datetime2",
        TdsColumnKind.Date => "date",
        TdsColumnKind.Time => "time",
        TdsColumnKind.DateTimeOffset => "datetimeoffset",
        TdsColumnKind.UniqueIdentifier => "uniqueidentifier",
        _ => "varbinary",
    };
}

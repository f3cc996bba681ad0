namespace SafeSql.Testing.Tds;

/// <summary>The SQL Server types the loopback server can put in a result column.</summary>
internal enum TdsColumnKind
{
    Int,
    BigInt,
    SmallInt,
    TinyInt,
    Bit,
    Float,
    Real,
    Decimal,
    NVarChar,
    VarChar,
    DateTime2,
    Date,
    Time,
    DateTimeOffset,
    UniqueIdentifier,
    VarBinary,
}

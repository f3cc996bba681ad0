using System.Text;

namespace SafeSql.Testing.Tds;

/// <summary>Maps CLR values to result columns and holds the code page of the default collation.</summary>
internal static class TdsValues
{
    /// <summary>Gets code page 1252, the code page of SQL_Latin1_General_CP1_CI_AS (sort id 52), used for varchar values.</summary>
    public static Encoding Ansi { get; } = CodePagesEncodingProvider.Instance.GetEncoding(1252) ?? Encoding.Latin1;

    public static TdsColumn? ColumnFor(string name, object? sample, bool nullable, int maxLength, byte scale) => sample switch
    {
        null or int => new TdsColumn(name, TdsColumnKind.Int, nullable),
        long => new TdsColumn(name, TdsColumnKind.BigInt, nullable),
        short => new TdsColumn(name, TdsColumnKind.SmallInt, nullable),
        byte => new TdsColumn(name, TdsColumnKind.TinyInt, nullable),
        bool => new TdsColumn(name, TdsColumnKind.Bit, nullable),
        double => new TdsColumn(name, TdsColumnKind.Float, nullable),
        float => new TdsColumn(name, TdsColumnKind.Real, nullable),
        decimal => new TdsColumn(name, TdsColumnKind.Decimal, nullable, scale: scale),
        string => new TdsColumn(name, TdsColumnKind.NVarChar, nullable, maxLength),
        char => new TdsColumn(name, TdsColumnKind.NVarChar, nullable, 1),
        DateTime => new TdsColumn(name, TdsColumnKind.DateTime2, nullable, scale: 7),
        DateOnly => new TdsColumn(name, TdsColumnKind.Date, nullable),
        TimeSpan or TimeOnly => new TdsColumn(name, TdsColumnKind.Time, nullable, scale: 7),
        DateTimeOffset => new TdsColumn(name, TdsColumnKind.DateTimeOffset, nullable, scale: 7),
        Guid => new TdsColumn(name, TdsColumnKind.UniqueIdentifier, nullable),
        byte[] => new TdsColumn(name, TdsColumnKind.VarBinary, nullable, maxLength),
        _ => null,
    };
}

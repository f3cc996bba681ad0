namespace SafeSql.ConnectionStrings;

/// <summary>Skeleton: the policy issue replaces the body. The factory calls this once per options instance.</summary>
internal static class SqlConnectionStringNormalizer
{
    internal static string Normalize(SafeSqlOptions options) => options.ConnectionString ?? string.Empty;
}

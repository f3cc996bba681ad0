namespace SafeSql.Diagnostics;

/// <summary>
/// Stable event ids of SafeSql's log messages, grouped by range: 1000s connection pool and leases, 2000s leaks,
/// 3000s failure classification and retries, 4000s connection-string policy. Ids never change meaning once shipped.
/// </summary>
public static partial class SafeSqlEventId
{
}

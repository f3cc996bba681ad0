namespace SafeSql.Diagnostics;

/// <summary>
/// SafeSql's <c>[LoggerMessage]</c> definitions. Partial by concern: <c>Log.Leases.cs</c> (leases and leaks),
/// <c>Log.Classification.cs</c> (failure classification and retries), <c>Log.Policy.cs</c> (connection-string policy).
/// </summary>
internal static partial class Log
{
}

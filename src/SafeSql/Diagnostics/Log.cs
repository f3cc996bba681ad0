namespace SafeSql.Diagnostics;

/// <summary>
/// SafeSql's <c>[LoggerMessage]</c> definitions. Partial by concern: <c>Log.Leases.cs</c> (leases issue),
/// <c>Log.Classification.cs</c> (classification issue), <c>Log.Policy.cs</c> (policy issue).
/// </summary>
internal static partial class Log
{
}

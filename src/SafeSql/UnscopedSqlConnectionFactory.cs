using System.Runtime.CompilerServices;

using Microsoft.Data.SqlClient;

namespace SafeSql;

/// <summary>
/// <see cref="ISqlConnectionFactory"/> for a consumer that lives as long as the application (resolved from the root service
/// provider): opens through the data source itself, so each connection is covered by its finalizer sentinel and the
/// watchdog instead of a scope that would hold it until shutdown.
/// </summary>
internal sealed class UnscopedSqlConnectionFactory(SafeSqlDataSource dataSource) : ISqlConnectionFactory
{
    public string Name => dataSource.Name;

    public SqlConnection OpenConnection(
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0) =>
        dataSource.OpenCore(null, callerMemberName, callerFilePath, callerLineNumber);

    public ValueTask<SqlConnection> OpenConnectionAsync(
        CancellationToken cancellationToken = default,
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0) =>
        dataSource.OpenCoreAsync(null, callerMemberName, callerFilePath, callerLineNumber, cancellationToken);

    public ISqlConnectionScope CreateScope() => dataSource.CreateScope();
}

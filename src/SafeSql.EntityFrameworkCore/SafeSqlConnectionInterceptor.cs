using System.Data.Common;
using System.Runtime.CompilerServices;

using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore.Diagnostics;

using SafeSql.Leases;

namespace SafeSql.EntityFrameworkCore;

/// <summary>
/// Gives each context the connection from the data source (EF's <c>ConnectionCreating</c>: EF owns and disposes it) and,
/// when EF disposes it with the context, reports it if it is still open: a <c>GetDbConnection().Open()</c> or
/// <c>Database.OpenConnection()</c> without the matching close (<see cref="ConnectionLeakKind.NotDisposedBeforeScopeEnd"/>).
/// One instance per options, shared by the contexts built from them (thread-safe).
/// </summary>
internal sealed class SafeSqlConnectionInterceptor : DbConnectionInterceptor
{
    private readonly SafeSqlDataSource _dataSource;
    private readonly string? _filePath;
    private readonly int _lineNumber;
    private readonly ConditionalWeakTable<DbConnection, PerOpenLeaseSentinel> _sentinels = [];

    internal SafeSqlConnectionInterceptor(SafeSqlDataSource dataSource, string? filePath, int lineNumber)
    {
        _dataSource = dataSource;
        _filePath = string.IsNullOrEmpty(filePath) ? null : filePath;
        _lineNumber = lineNumber;
    }

    public override InterceptionResult<DbConnection> ConnectionCreating(ConnectionCreatingEventData eventData, InterceptionResult<DbConnection> result)
    {
        // The context type is the holder: EF opens the connection, so no line of the application's own is on the stack.
        var holder = eventData.Context?.GetType().Name ?? nameof(Microsoft.EntityFrameworkCore.DbContext);
        var connection = _dataSource.CreateHolderConnection(holder, _filePath, _lineNumber, out var sentinel);
        _sentinels.AddOrUpdate(connection, sentinel);
        return InterceptionResult<DbConnection>.SuppressWithResult(connection);
    }

    public override InterceptionResult ConnectionDisposing(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        ReportIfOpen(connection);
        return result;
    }

    public override ValueTask<InterceptionResult> ConnectionDisposingAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        ReportIfOpen(connection);
        return ValueTask.FromResult(result);
    }

    /// <summary>EF is about to dispose the context's connection: one still open was opened by hand and never closed.</summary>
    private void ReportIfOpen(DbConnection connection)
    {
        if (connection is SqlConnection sql
            && _sentinels.TryGetValue(connection, out var sentinel)
            && sentinel.TryEndAtScopeEnd(sql, out var heldFor) is { } record)
        {
            // EF disposes it right after this returns, which closes it; the report says so ("SafeSql disposed it").
            sentinel.ReportScopeLeak(record, heldFor);
        }
    }
}

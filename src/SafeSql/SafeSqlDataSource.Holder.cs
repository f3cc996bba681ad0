using Microsoft.Data.SqlClient;

using SafeSql.Leases;

namespace SafeSql;

/// <summary>Connections for a holder that opens and closes them itself and is not a line of code (an EF Core <c>DbContext</c>).</summary>
public sealed partial class SafeSqlDataSource
{
    /// <summary>
    /// Creates an unopened connection tracked on every open, like <see cref="CreateConnection"/>, whose leases name
    /// <paramref name="holder"/> (e.g. the <c>DbContext</c> type) as the member at <paramref name="filePath"/>:<paramref
    /// name="lineNumber"/> (the line that configured the holder), and hands back the sentinel so the holder can report a
    /// connection still open when its own scope ends (<see cref="PerOpenLeaseSentinel.TryEndAtScopeEnd"/>).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The data source was disposed.</exception>
    internal SqlConnection CreateHolderConnection(string holder, string? filePath, int lineNumber, out PerOpenLeaseSentinel sentinel)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = new SqlConnection(_connectionString);
        sentinel = new PerOpenLeaseSentinel(Tracker, holder, filePath, lineNumber);
        connection.StateChange += sentinel.OnStateChange;
        return connection;
    }
}

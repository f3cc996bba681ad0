using Microsoft.Data.SqlClient;

namespace SafeSql;

/// <summary>
/// A scope that owns the connections opened through it (the data source's <c>CreateScope()</c> and the DI scope of a request):
/// it disposes and reports at its end every one still open, so its leases need no finalizable sentinel each.
/// </summary>
internal interface ILeaseScope
{
    /// <summary>Takes ownership of a connection that just opened (its lease has started).</summary>
    /// <exception cref="ObjectDisposedException">The scope is already disposed: the connection was disposed (which ends its lease).</exception>
    void Adopt(LeaseRecord record, SqlConnection connection);
}

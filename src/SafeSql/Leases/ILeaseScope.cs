using Microsoft.Data.SqlClient;

namespace SafeSql;

/// <summary>
/// A scope that owns the connections opened through it (the data source's <c>CreateScope()</c> and the DI scope of a request):
/// it disposes and reports at its end every one still open, so its leases need no finalizable sentinel each.
/// </summary>
internal interface ILeaseScope
{
    /// <summary>Takes ownership of a connection that just opened; <see langword="false"/> when the scope is already disposed.</summary>
    bool TryAdopt(LeaseRecord record, SqlConnection connection);
}

using System.Data;

namespace SafeSql.Leases;

/// <summary>
/// Attached to a connection opened through the root factory (outside any scope) as the target of its
/// <see cref="System.Data.Common.DbConnection.StateChange"/> handler: the connection references the sentinel, nothing
/// else does. So the sentinel becomes unreachable exactly when
/// the connection does, and its finalizer tells the tracker that the connection was collected without being disposed.
/// </summary>
/// <remarks>
/// <para>
/// This is the ephemeron a <see cref="System.Runtime.CompilerServices.ConditionalWeakTable{TKey, TValue}"/> would give
/// (key = connection, value = sentinel), without its per-entry dependent handle and global lock: the lease needs the
/// <c>StateChange</c> subscription anyway, and the subscription's delegate already ties the sentinel's lifetime to the
/// connection's.
/// </para>
/// <para>
/// The finalizer never touches the connection (it may already be finalized): it only flips the lease state and enqueues
/// the record; the tracker reports from a thread-pool thread. On a normal close the finalizer is suppressed.
/// </para>
/// <para>
/// Scoped leases have no sentinel: their scope holds the connections and carries one finalizer for all of them
/// (allocating a finalizable object costs about 30 ns, 4 % of a pooled open).
/// </para>
/// <para>
/// Every way of ending a connection raises <c>StateChange</c> Open to Closed: <c>Close</c>, <c>CloseAsync</c>,
/// <c>Dispose</c> and <c>DisposeAsync</c> (SqlClient's <c>Dispose(bool)</c> calls <c>Close</c>), and a fatal server error
/// (SqlClient's <c>OnError</c> closes a broken connection). So <c>Disposed</c> is not also observed: subscribing to it
/// would allocate the component's event list (about 130 bytes per open) for no extra coverage.
/// </para>
/// </remarks>
internal sealed class LeaseSentinel
{
    private readonly LeaseRecord _record;

    internal LeaseSentinel(LeaseRecord record)
    {
        _record = record;
    }

    ~LeaseSentinel()
    {
        _record.Tracker.OnCollected(_record);
    }

    /// <summary>The connection's <c>StateChange</c> handler: ends the lease when the connection closes.</summary>
    internal void OnStateChange(object sender, StateChangeEventArgs e)
    {
        if (e.CurrentState == ConnectionState.Closed)
        {
#pragma warning disable CA1816 // The sentinel is not IDisposable: a normal close is its "dispose", after which the finalizer has nothing to report.
            GC.SuppressFinalize(this);
#pragma warning restore CA1816
            _record.Tracker.OnClosed(_record);
        }
    }
}

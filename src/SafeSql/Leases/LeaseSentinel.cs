using System.Data;
using System.Data.Common;

namespace SafeSql;

/// <summary>
/// The <see cref="DbConnection.StateChange"/> handler of a connection opened through a data source or a scope, and the
/// finalizable object that reports it if it is dropped while open: while a lease is active the connection's event is the
/// only reference to the sentinel, so the sentinel becomes unreachable exactly when the connection does, and its finalizer
/// tells the tracker that the connection was collected without being disposed.
/// </summary>
/// <remarks>
/// <para>
/// This is the ephemeron a <see cref="System.Runtime.CompilerServices.ConditionalWeakTable{TKey, TValue}"/> would give
/// (key = connection, value = sentinel), without its per-entry dependent handle and global lock: the lease needs the
/// <c>StateChange</c> subscription anyway, and the subscription's delegate already ties the sentinel's lifetime to the
/// connection's.
/// </para>
/// <para>
/// Sentinels are reused (<see cref="LeaseTracker.RentSentinel"/>): allocating a finalizable object costs about 65 ns on this
/// path (the finalization queue's registration), re-arming one with <c>GC.ReRegisterForFinalize</c> and
/// <c>GC.SuppressFinalize</c> about 17 ns, and a reused one costs neither. So the finalizer is never suppressed: a sentinel
/// stays registered from its allocation until it becomes unreachable. Between leases it sits in its tracker's pool, which
/// keeps it reachable; if it is ever dropped idle (the pool was full), its finalizer finds no lease and does nothing. Its
/// delegate is created once, and on close the sentinel unsubscribes it, so a closed connection the application keeps does
/// not keep the sentinel reachable once it serves another connection.
/// </para>
/// <para>
/// The finalizer never touches the connection (it may already be finalized): it only flips the lease state and enqueues
/// the record; the tracker reports from a thread-pool thread. A scoped lease has a sentinel too: the scope reports it at
/// scope end, and if the scope itself is dropped, the scope's finalizer and the sentinel's both offer the lease to
/// <see cref="LeaseTracker.OnCollected"/>, which reports it once (<see cref="LeaseRecord.TryEnd"/>).
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
    private readonly LeaseTracker _tracker;
    private readonly StateChangeEventHandler _onStateChange;
    private LeaseRecord? _record;

    internal LeaseSentinel(LeaseTracker tracker)
    {
        _tracker = tracker;
        _onStateChange = OnStateChange;
    }

    ~LeaseSentinel()
    {
        // Null when the sentinel was dropped between leases: nothing to report.
        if (_record is { } record)
        {
            _tracker.OnCollected(record);
        }
    }

    /// <summary>Starts watching <paramref name="connection"/> for the lease <paramref name="record"/>.</summary>
    internal void Attach(DbConnection connection, LeaseRecord record)
    {
        _record = record;
        connection.StateChange += _onStateChange;
    }

    /// <summary>The connection's <c>StateChange</c> handler: ends the lease when the connection closes.</summary>
    private void OnStateChange(object sender, StateChangeEventArgs e)
    {
        if (e.CurrentState != ConnectionState.Closed || _record is not { } record)
        {
            return;
        }

        ((DbConnection)sender).StateChange -= _onStateChange;
        _record = null;
        _tracker.OnClosed(record);
        _tracker.ReturnSentinel(this);
    }
}

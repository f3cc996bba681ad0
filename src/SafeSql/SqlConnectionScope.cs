using System.Runtime.CompilerServices;

using Microsoft.Data.SqlClient;

namespace SafeSql;

/// <summary>
/// A scope of a root <see cref="SafeSqlDataSource"/>: opens through the root and owns the leases it opened. Disposing
/// it disposes every connection it opened that is still open (returning it to the pool) and reports each as
/// <see cref="SqlConnectionLeakKind.NotDisposedBeforeScopeEnd"/>.
/// </summary>
/// <remarks>
/// Thread-safe: a request may open connections from parallel tasks. Connections closed by their owners are pruned
/// lazily, so a long scope that opens many connections keeps memory proportional to those still open. The leases of a
/// scope have no finalizable sentinel each: the scope holds their connections, so one finalizer on the scope covers a
/// scope dropped without being disposed.
/// </remarks>
internal sealed class SqlConnectionScope : ISqlConnectionScope, ILeaseScope
{
    private readonly SafeSqlDataSource _root;
    private readonly Lock _gate = new();
    private Entry[] _entries = [];
    private int _count;
    private bool _disposed;

    internal SqlConnectionScope(SafeSqlDataSource root)
    {
        _root = root;
    }

    /// <summary>
    /// A scope garbage-collected without being disposed: the connections it held were unreachable with it. Report each
    /// still-open lease as collected (the leases of a scope have no sentinel of their own); never touch the connections.
    /// </summary>
    ~SqlConnectionScope()
    {
        var tracker = _root.Tracker;
        var entries = _entries;
        for (var i = 0; i < _count && i < entries.Length; i++)
        {
            tracker.OnCollected(entries[i].Record);
        }
    }

    public string Name => _root.Name;

    public SqlConnection OpenConnection(
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0)
    {
        ThrowIfDisposed();
        return _root.OpenCore(this, callerMemberName, callerFilePath, callerLineNumber);
    }

    public ValueTask<SqlConnection> OpenConnectionAsync(
        CancellationToken cancellationToken = default,
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0)
    {
        ThrowIfDisposed();
        return _root.OpenCoreAsync(this, callerMemberName, callerFilePath, callerLineNumber, cancellationToken);
    }

    /// <summary>Creates a new, independent scope of the same root factory (not a child: each scope owns only its own leases).</summary>
    public ISqlConnectionScope CreateScope()
    {
        ThrowIfDisposed();
        return _root.CreateScope();
    }

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        var entries = Detach();
        var tracker = _root.Tracker;
        foreach (var entry in entries)
        {
            if (tracker.TryEndAtScopeEnd(entry.Record, entry.Connection, out var heldFor))
            {
                try
                {
                    entry.Connection.Dispose();
                }
#pragma warning disable CA1031 // One connection failing to dispose must not keep the others out of the pool.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    tracker.LogLeakedConnectionDisposeFailed(ex);
                }

                tracker.ReportScopeLeak(entry.Record, heldFor);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        var entries = Detach();
        var tracker = _root.Tracker;
        foreach (var entry in entries)
        {
            if (tracker.TryEndAtScopeEnd(entry.Record, entry.Connection, out var heldFor))
            {
                try
                {
                    await entry.Connection.DisposeAsync().ConfigureAwait(false);
                }
#pragma warning disable CA1031 // One connection failing to dispose must not keep the others out of the pool.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    tracker.LogLeakedConnectionDisposeFailed(ex);
                }

                tracker.ReportScopeLeak(entry.Record, heldFor);
            }
        }
    }

    /// <summary>Takes ownership of a lease that just started.</summary>
    /// <exception cref="ObjectDisposedException">The scope has been disposed while the connection opened: the connection is disposed.</exception>
    public void Adopt(LeaseRecord record, SqlConnection connection)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                if (_count == _entries.Length)
                {
                    Compact();
                }

                _entries[_count++] = new Entry(record, connection);
                return;
            }
        }

        // Disposing closes the connection: its sentinel ends the lease.
        connection.Dispose();
        throw new ObjectDisposedException(nameof(ISqlConnectionScope), "The SafeSql scope was disposed while a connection was being opened through it; the connection was disposed. Open connections through a live scope.");
    }

    /// <summary>Drops entries whose lease has ended; grows the array when more than half of it is still live.</summary>
    private void Compact()
    {
        var live = 0;
        for (var i = 0; i < _count; i++)
        {
            if (_entries[i].Record.IsActive)
            {
                _entries[live++] = _entries[i];
            }
        }

        Array.Clear(_entries, live, _count - live);
        _count = live;
        if (_count * 2 >= _entries.Length)
        {
            Array.Resize(ref _entries, Math.Max(4, _entries.Length * 2));
        }
    }

    private Entry[] Detach()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return [];
            }

            _disposed = true;
            var entries = _entries.AsSpan(0, _count).ToArray();
            _entries = [];
            _count = 0;
            return entries;
        }
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed))
        {
            throw new ObjectDisposedException(nameof(ISqlConnectionScope), "This SafeSql scope has been disposed (its DI scope or 'await using' block ended). Open connections through a live scope or the root factory.");
        }
    }

    private readonly record struct Entry(LeaseRecord Record, SqlConnection Connection);
}

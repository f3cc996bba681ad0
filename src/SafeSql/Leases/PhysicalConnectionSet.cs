using System.Collections.Concurrent;

namespace SafeSql;

/// <summary>
/// The physical connections a pool has handed out, by <c>SqlConnection.ClientConnectionId</c> (a new id per login, kept while
/// SqlClient reuses the connection from its pool): an open whose id was not seen before made a new physical connection
/// (<c>db.client.connection.create_time</c>). SqlClient exposes no other per-open signal of it.
/// </summary>
/// <remarks>
/// Bounded by two generations of <c>capacity</c> ids: when the current one fills, it becomes the previous and a new one
/// starts; an id met in the previous generation moves to the current one. A pool holds at most Max Pool Size live connections,
/// so a live one is forgotten (and its next open counted as new) only if it stays idle while more than twice
/// <c>capacity</c> new connections are made. Lookups never lock; adding an id (a new connection, after a login) may take
/// the dictionary's bucket lock, and a generation change a short lock.
/// </remarks>
internal sealed class PhysicalConnectionSet(int capacity)
{
    private readonly Lock _gate = new();
    private ConcurrentDictionary<Guid, byte> _current = new();
    private ConcurrentDictionary<Guid, byte> _previous = new();
    private int _currentCount;

    /// <summary>Notes the connection <paramref name="clientConnectionId"/>; returns <see langword="true"/> the first time it is seen.</summary>
    internal bool Add(Guid clientConnectionId)
    {
        if (clientConnectionId == Guid.Empty)
        {
            return false;
        }

        var current = Volatile.Read(ref _current);
        if (current.ContainsKey(clientConnectionId))
        {
            return false;
        }

        var seenBefore = Volatile.Read(ref _previous).ContainsKey(clientConnectionId);
        if (!current.TryAdd(clientConnectionId, 0))
        {
            return false; // another open of the same connection added it first: impossible for one physical connection, harmless
        }

        if (Interlocked.Increment(ref _currentCount) >= capacity)
        {
            lock (_gate)
            {
                if (ReferenceEquals(_current, current))
                {
                    Volatile.Write(ref _previous, current);
                    Volatile.Write(ref _current, new ConcurrentDictionary<Guid, byte>());
                    Volatile.Write(ref _currentCount, 0);
                }
            }
        }

        return !seenBefore;
    }
}

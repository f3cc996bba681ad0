namespace SafeSql.AspNetCore;

/// <summary>The newest leak reports of one pool, at most <c>capacity</c>; older ones are dropped.</summary>
internal sealed class RecentLeakRing
{
    private readonly SqlConnectionLeakReport?[] _reports;
    private readonly Lock _gate = new();
    private int _next;
    private int _count;

    internal RecentLeakRing(int capacity) => _reports = new SqlConnectionLeakReport?[capacity];

    internal void Add(SqlConnectionLeakReport report)
    {
        lock (_gate)
        {
            _reports[_next] = report;
            _next = (_next + 1) % _reports.Length;
            _count = Math.Min(_count + 1, _reports.Length);
        }
    }

    /// <summary>Copies the reports kept, newest first.</summary>
    internal SqlConnectionLeakReport[] Snapshot()
    {
        lock (_gate)
        {
            var result = new SqlConnectionLeakReport[_count];
            for (var i = 0; i < _count; i++)
            {
                result[i] = _reports[(_next - 1 - i + _reports.Length) % _reports.Length]!;
            }

            return result;
        }
    }
}

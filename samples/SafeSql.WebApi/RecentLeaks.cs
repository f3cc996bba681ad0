using System.Collections.Concurrent;

namespace SafeSql.WebApi;

/// <summary>The most recent leak reports, for <c>GET /leaks</c> (SafeSql also logs each one as a warning, event id 2001-2004).</summary>
internal sealed class RecentLeaks
{
    private const int Capacity = 50;
    private readonly ConcurrentQueue<SqlConnectionLeakReport> _reports = new();

    /// <summary>Keeps a report; wired to <see cref="SqlConnectionLeakOptions.OnLeakDetected"/>.</summary>
    public void Add(SqlConnectionLeakReport report)
    {
        _reports.Enqueue(report);
        while (_reports.Count > Capacity && _reports.TryDequeue(out _))
        {
        }
    }

    /// <summary>Gets the reports, oldest first, as JSON-friendly objects.</summary>
    public IEnumerable<object> Snapshot() => _reports.Select(static report => new
    {
        kind = report.Kind.ToString(),
        callSite = report.Lease.CallSite?.ToString(),
        heldForSeconds = report.Lease.HeldFor.TotalSeconds,
        detectedAt = report.DetectedAt,
        message = report.Message,
    });
}

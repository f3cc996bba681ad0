using System.Collections.Concurrent;
using System.Diagnostics;

using SafeSql.Demo.Reporting;

namespace SafeSql.Demo.Running;

/// <summary>
/// Counts what one run does (opens, failures by kind, leaks) and measures its time and TCP connections. Thread-safe: the
/// scenarios' concurrent users record into one recorder.
/// </summary>
/// <remarks>
/// Both sides classify their failures with SafeSql's <see cref="SqlFailureClassifier"/>, so the table compares like with like.
/// </remarks>
internal sealed class RunRecorder
{
    private readonly DemoServer _server;
    private readonly long? _tcpAtStart;
    private readonly Stopwatch _stopwatch = Stopwatch.StartNew();
    private readonly ConcurrentDictionary<SqlFailureKind, long> _failures = new();
    private readonly ConcurrentDictionary<SqlFailureKind, SqlFailure> _examples = new();
    private long _opens;
    private long _surfaced;
    private long _leaks;

    public RunRecorder(DemoServer server)
    {
        _server = server;
        _tcpAtStart = server.TcpConnections;
    }

    /// <summary>Gets the successful opens so far.</summary>
    public long Opens => Interlocked.Read(ref _opens);

    /// <summary>Gets the failures that reached the calling code so far.</summary>
    public long FailuresSurfaced => Interlocked.Read(ref _surfaced);

    /// <summary>Gets the leaks reported so far.</summary>
    public long LeaksReported => Interlocked.Read(ref _leaks);

    /// <summary>Gets the failures of <paramref name="kind"/> so far.</summary>
    public long Count(SqlFailureKind kind) => _failures.GetValueOrDefault(kind);

    /// <summary>Gets the time since the run started.</summary>
    public TimeSpan Elapsed => _stopwatch.Elapsed;

    /// <summary>Counts one successful open.</summary>
    public void Opened() => Interlocked.Increment(ref _opens);

    /// <summary>Classifies and counts a failure that reached the calling code (raw SqlClient: a failed request).</summary>
    public SqlFailure Failed(Exception exception)
    {
        Surfaced();
        return Classified(exception);
    }

    /// <summary>As <see cref="Failed"/>, without blocking a thread: concurrent failures towards the server share one
    /// diagnostic connect (<see cref="SqlFailureClassifier.ClassifyAsync(Exception, string?, CancellationToken)"/>).</summary>
    public async ValueTask<SqlFailure> FailedAsync(Exception exception)
    {
        Surfaced();
        var failure = await SqlFailureClassifier.ClassifyAsync(exception, _server.DataSource);
        Saw(failure.Kind);
        _examples.TryAdd(failure.Kind, failure);
        return failure;
    }

    /// <summary>Classifies and counts a failure that SafeSql saw (and may have retried).</summary>
    public SqlFailure Classified(Exception exception)
    {
        var failure = SqlFailureClassifier.Classify(exception, _server.DataSource);
        Saw(failure.Kind);
        _examples.TryAdd(failure.Kind, failure);
        return failure;
    }

    /// <summary>Counts a failure that reached the calling code after SafeSql classified it (it is counted by kind already).</summary>
    public void Surfaced() => Interlocked.Increment(ref _surfaced);

    /// <summary>Counts failures already classified by SafeSql (its <c>db.client.connection.safesql.failures</c> counter).</summary>
    public void Saw(SqlFailureKind kind, long count = 1) => _failures.AddOrUpdate(kind, count, (_, current) => current + count);

    /// <summary>Gets the first leak report of the run.</summary>
    public SqlConnectionLeakReport? FirstLeak { get; private set; }

    /// <summary>Counts one leak report (SafeSql's <see cref="SqlConnectionLeakOptions.OnLeakDetected"/> callback).</summary>
    public void LeakReported(SqlConnectionLeakReport report)
    {
        if (Interlocked.Increment(ref _leaks) == 1)
        {
            FirstLeak = report;
        }
    }

    /// <summary>Gets the first failure seen of <paramref name="kind"/>, for its explanation.</summary>
    public SqlFailure? Example(SqlFailureKind kind) => _examples.GetValueOrDefault(kind);

    /// <summary>Stops the clock and returns the figures.</summary>
    public RunFigures Finish(string summary, Dictionary<string, object?>? details = null)
    {
        _stopwatch.Stop();
        return new RunFigures
        {
            Summary = summary,
            Opens = Interlocked.Read(ref _opens),
            Failures = new SortedDictionary<string, long>(_failures.ToDictionary(static p => p.Key.ToString(), static p => p.Value)),
            FailuresSurfaced = Interlocked.Read(ref _surfaced),
            PoolTimeouts = _failures.GetValueOrDefault(SqlFailureKind.PoolTimeout),
            LeaksReported = Interlocked.Read(ref _leaks),
            TcpConnections = _server.TcpConnections - _tcpAtStart,
            ElapsedMs = _stopwatch.ElapsedMilliseconds,
            Details = details ?? [],
        };
    }
}

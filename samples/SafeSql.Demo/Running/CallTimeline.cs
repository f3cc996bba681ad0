using System.Diagnostics;

namespace SafeSql.Demo.Running;

/// <summary>
/// Every call one side of a scenario made, on the scenario's clock: when it started, when it ended and how. Thread-safe: the
/// scenario's callers record into one timeline. <see cref="Freeze"/> ends it; later calls are not recorded.
/// </summary>
internal sealed class CallTimeline(Stopwatch clock)
{
    private readonly Lock _lock = new();
    private readonly List<TimedCall> _calls = [];
    private readonly Dictionary<int, TimeSpan> _running = [];
    private bool _frozen;

    /// <summary>Gets the time on the scenario's clock.</summary>
    public TimeSpan Now => clock.Elapsed;

    /// <summary>Notes that caller <paramref name="caller"/> starts a call now and returns its start time.</summary>
    public TimeSpan Start(int caller)
    {
        var start = clock.Elapsed;
        lock (_lock)
        {
            _running[caller] = start;
        }

        return start;
    }

    /// <summary>Records caller <paramref name="caller"/>'s call, which ended at <paramref name="call"/>'s end (ignored once
    /// the timeline is frozen). A failure is recorded with its kind, so it is classified first, after its end was taken.</summary>
    public void Record(int caller, TimedCall call)
    {
        lock (_lock)
        {
            _running.Remove(caller);
            if (!_frozen)
            {
                _calls.Add(call);
            }
        }
    }

    /// <summary>
    /// Ends the timeline: every call still running is recorded as <see cref="CallOutcome.StillRunning"/>, ending now. Returns
    /// every call.
    /// </summary>
    public IReadOnlyList<TimedCall> Freeze()
    {
        var now = clock.Elapsed;
        lock (_lock)
        {
            if (!_frozen)
            {
                _frozen = true;
                _calls.AddRange(_running.Values.Select(start => new TimedCall(start, now, CallOutcome.StillRunning, null)));
                _running.Clear();
            }

            return [.. _calls];
        }
    }
}

/// <summary>How a call ended.</summary>
internal enum CallOutcome
{
    /// <summary>Open and query succeeded.</summary>
    Succeeded,

    /// <summary>The caller got an exception.</summary>
    Failed,

    /// <summary>Still running when the scenario ended: canceled, or abandoned after the drain.</summary>
    StillRunning,
}

/// <summary>One call, on the scenario's clock; a failed call with its <see cref="SqlFailureKind"/>.</summary>
internal readonly record struct TimedCall(TimeSpan Start, TimeSpan End, CallOutcome Outcome, SqlFailureKind? Kind)
{
    public TimeSpan Duration => End - Start;
}

using SafeSql.Demo.Running;

namespace SafeSql.Demo.Reporting;

/// <summary>
/// What the callers of one side saw around an outage, computed from their <see cref="TimedCall"/>s: the failures while the
/// server was down and how fast they came, the slowest call, and how soon after the server's return the service was back.
/// </summary>
/// <param name="Calls">Every call recorded.</param>
/// <param name="FailuresWhileDown">Calls that failed between the server's stop and its return.</param>
/// <param name="TimeToFailP50Ms">The median duration of those failures; <see langword="null"/> when there were none.</param>
/// <param name="TimeToFailP99Ms">Their 99th percentile (nearest rank); <see langword="null"/> when there were none.</param>
/// <param name="SlowestCallMs">The longest call, whatever its outcome (a call still running at the end counts until then).</param>
/// <param name="CallsOverBudget">Calls that took longer than the caller's budget (the default <c>Connect Timeout</c>, 15 s).</param>
/// <param name="FirstSuccessAfterReturnMs">From the server's return to the first call that succeeded after it; <see langword="null"/>: none did.</param>
/// <param name="ServiceBackAfterReturnMs">
/// From the server's return to the moment from which no call failed or was held longer than the held threshold (1 s): the
/// later of the first success after the return and the end of the last call that failed or was held (a call still running at
/// the end counts as held when it ran longer than the threshold). <see langword="null"/>: not back before the scenario ended.
/// </param>
/// <param name="ErrorsAfterReturn">Calls that failed after the server's return.</param>
/// <param name="StillRunningAtEnd">Calls still running when the scenario ended (canceled, or abandoned).</param>
/// <param name="FailuresWhileDownByKind">The failures while down by <see cref="SqlFailureKind"/> name.</param>
/// <param name="ErrorsAfterReturnByKind">The failures after the return by <see cref="SqlFailureKind"/> name.</param>
/// <param name="SlowestFailureByKindMs">The longest failed call of each <see cref="SqlFailureKind"/>, whenever it ended.</param>
/// <param name="HeldAfterReturn">Calls that succeeded after the server's return but took longer than the held threshold.</param>
/// <param name="CallsStartedLater">Calls that started at least the held threshold (1 s) after the server's return.</param>
/// <param name="FailuresStartedLater">Those of them that failed (the goal: none).</param>
internal sealed record OutageFigures(
    long Calls,
    long FailuresWhileDown,
    long? TimeToFailP50Ms,
    long? TimeToFailP99Ms,
    long SlowestCallMs,
    long CallsOverBudget,
    long? FirstSuccessAfterReturnMs,
    long? ServiceBackAfterReturnMs,
    long ErrorsAfterReturn,
    long StillRunningAtEnd,
    SortedDictionary<string, long> FailuresWhileDownByKind,
    SortedDictionary<string, long> ErrorsAfterReturnByKind,
    SortedDictionary<string, long> SlowestFailureByKindMs,
    long HeldAfterReturn,
    long CallsStartedLater,
    long FailuresStartedLater)
{
    /// <summary>A call held longer than this is not "service": the goal for an open after the server's return.</summary>
    public static readonly TimeSpan HeldThreshold = TimeSpan.FromSeconds(1);

    /// <summary>Computes the figures of <paramref name="calls"/> for a server down from <paramref name="downAt"/> to
    /// <paramref name="returnAt"/>, the scenario ending at <paramref name="endAt"/>.</summary>
    public static OutageFigures Compute(IReadOnlyList<TimedCall> calls, TimeSpan downAt, TimeSpan returnAt, TimeSpan endAt, TimeSpan budget)
    {
        var whileDown = calls.Where(c => c.Outcome == CallOutcome.Failed && c.End >= downAt && c.End < returnAt).ToArray();
        var failuresWhileDown = whileDown.Select(static c => c.Duration).Order().ToArray();
        var afterReturn = calls.Where(c => c.End >= returnAt).ToArray();
        var later = calls.Where(c => c.Start >= returnAt + HeldThreshold).ToArray();
        var firstSuccess = afterReturn.Where(static c => c.Outcome == CallOutcome.Succeeded).Select(static c => (TimeSpan?)c.End).Min();
        var lastBad = afterReturn
            .Where(static c => c.Outcome == CallOutcome.Failed || c.Duration > HeldThreshold)
            .Select(static c => (TimeSpan?)c.End)
            .Max();

        // Service is back from the first success after the return, unless calls kept failing or being held after it; a bad
        // call in the scenario's last held-threshold (or one still running) means it was not back by the end.
        TimeSpan? serviceBack = firstSuccess is not { } first
            ? null
            : lastBad is { } bad && bad > first ? bad : first;
        if (serviceBack is not null && lastBad >= endAt - HeldThreshold)
        {
            serviceBack = null;
        }

        return new OutageFigures(
            Calls: calls.Count,
            FailuresWhileDown: failuresWhileDown.Length,
            TimeToFailP50Ms: Percentile(failuresWhileDown, 0.50),
            TimeToFailP99Ms: Percentile(failuresWhileDown, 0.99),
            SlowestCallMs: calls.Count == 0 ? 0 : Milliseconds(calls.Max(static c => c.Duration)),
            CallsOverBudget: calls.Count(c => c.Duration > budget),
            FirstSuccessAfterReturnMs: firstSuccess is { } f ? Milliseconds(f - returnAt) : null,
            ServiceBackAfterReturnMs: serviceBack is { } s ? Milliseconds(s - returnAt) : null,
            ErrorsAfterReturn: afterReturn.Count(static c => c.Outcome == CallOutcome.Failed),
            StillRunningAtEnd: calls.Count(static c => c.Outcome == CallOutcome.StillRunning),
            FailuresWhileDownByKind: ByKind(whileDown),
            ErrorsAfterReturnByKind: ByKind(afterReturn.Where(static c => c.Outcome == CallOutcome.Failed)),
            SlowestFailureByKindMs: new(calls
                .Where(static c => c.Outcome == CallOutcome.Failed)
                .GroupBy(static c => c.Kind ?? SqlFailureKind.Unknown)
                .ToDictionary(static g => g.Key.ToString(), static g => Milliseconds(g.Max(static c => c.Duration)))),
            HeldAfterReturn: afterReturn.Count(static c => c.Outcome == CallOutcome.Succeeded && c.Duration > HeldThreshold),
            CallsStartedLater: later.Length,
            FailuresStartedLater: later.Count(static c => c.Outcome == CallOutcome.Failed));
    }

    /// <summary>The figures as <see cref="RunFigures.Details"/> entries (camelCase in <c>--json</c>).</summary>
    public Dictionary<string, object?> ToDetails() => new()
    {
        ["calls"] = Calls,
        ["failuresWhileDown"] = FailuresWhileDown,
        ["timeToFailP50Ms"] = TimeToFailP50Ms,
        ["timeToFailP99Ms"] = TimeToFailP99Ms,
        ["slowestCallMs"] = SlowestCallMs,
        ["callsOverBudget"] = CallsOverBudget,
        ["firstSuccessAfterReturnMs"] = FirstSuccessAfterReturnMs,
        ["serviceBackAfterReturnMs"] = ServiceBackAfterReturnMs,
        ["errorsAfterReturn"] = ErrorsAfterReturn,
        ["stillRunningAtEnd"] = StillRunningAtEnd,
        ["failuresWhileDownByKind"] = FailuresWhileDownByKind,
        ["errorsAfterReturnByKind"] = ErrorsAfterReturnByKind,
        ["slowestFailureByKindMs"] = SlowestFailureByKindMs,
        ["heldAfterReturn"] = HeldAfterReturn,
        ["callsStartedLater"] = CallsStartedLater,
        ["failuresStartedLater"] = FailuresStartedLater,
    };

    private static SortedDictionary<string, long> ByKind(IEnumerable<TimedCall> failures) =>
        new(failures.GroupBy(static c => c.Kind ?? SqlFailureKind.Unknown).ToDictionary(static g => g.Key.ToString(), static g => (long)g.Count()));

    private static long? Percentile(TimeSpan[] sorted, double fraction) =>
        sorted.Length == 0 ? null : Milliseconds(sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Length) - 1, 0, sorted.Length - 1)]);

    private static long Milliseconds(TimeSpan span) => (long)Math.Round(span.TotalMilliseconds);
}

using System.Diagnostics;

namespace SafeSql;

/// <summary>
/// The tracked state of one open connection: call site, optional stack, start timestamp, registry slot and a small
/// state machine. It never references the connection, so a dropped connection stays collectable (see
/// <see cref="LeaseSentinel"/>).
/// </summary>
/// <remarks>
/// Allocation-light on purpose (72 bytes): caller-info strings are interned literals, the stack is captured only in
/// <see cref="SqlConnectionStackCaptureMode.Full"/>, and the open time is one clock read.
/// </remarks>
internal sealed class LeaseRecord
{
    /// <summary>State bit: the lease has ended (returned, leaked at scope end, or collected). Set exactly once.</summary>
    private const int EndedBit = 1;

    /// <summary>State bit: the held-too-long watchdog reported this lease.</summary>
    private const int HeldTooLongBit = 2;

    private int _state;
    private StackTrace? _stack;

    internal LeaseRecord(LeaseTracker tracker, string? memberName, string? filePath, int lineNumber, StackTrace? stack, long startTimestamp)
    {
        Tracker = tracker;
        MemberName = memberName;
        FilePath = filePath;
        LineNumber = lineNumber;
        _stack = stack;
        StartTimestamp = startTimestamp;
    }

    internal LeaseTracker Tracker { get; }

    /// <summary>Gets the calling member; <see langword="null"/> in <see cref="SqlConnectionStackCaptureMode.None"/>.</summary>
    internal string? MemberName { get; }

    /// <summary>Gets the calling file; <see langword="null"/> in <see cref="SqlConnectionStackCaptureMode.None"/>.</summary>
    internal string? FilePath { get; }

    internal int LineNumber { get; }

    /// <summary>
    /// Gets the stack captured at open; <see langword="null"/> unless <see cref="SqlConnectionStackCaptureMode.Full"/>, and once the
    /// lease has ended and been reported (<see cref="ReleaseReferences"/>).
    /// </summary>
    internal StackTrace? Stack => Volatile.Read(ref _stack);

    /// <summary>Gets the open time on the tracker's lease clock (<see cref="LeaseTracker.GetTimestamp"/>).</summary>
    internal long StartTimestamp { get; }

    /// <summary>
    /// Gets or sets a <see cref="Stopwatch"/> timestamp of the open, taken only when the tracker's lease clock is coarse
    /// and the <c>db.client.connection.use_time</c> histogram is listened to; 0 otherwise.
    /// </summary>
    internal long UseTimeStart { get; init; }

    internal bool IsActive => (Volatile.Read(ref _state) & EndedBit) == 0;

    /// <summary>Gets a value indicating whether the lease is active and the watchdog has not reported it yet.</summary>
    internal bool IsActiveAndUnreported => Volatile.Read(ref _state) == 0;

    internal bool HasCallSite => FilePath is not null;

    /// <summary>Ends the lease if it is still active; exactly one caller wins.</summary>
    /// <param name="wasReportedHeldTooLong">Whether the watchdog had reported it (so the return must be reported too).</param>
    /// <returns><see langword="true"/> for the caller that ended it.</returns>
    internal bool TryEnd(out bool wasReportedHeldTooLong)
    {
        var state = Volatile.Read(ref _state);
        while ((state & EndedBit) == 0)
        {
            var observed = Interlocked.CompareExchange(ref _state, state | EndedBit, state);
            if (observed == state)
            {
                Tracker.OnLeaseEnded();
                wasReportedHeldTooLong = (state & HeldTooLongBit) != 0;
                return true;
            }

            state = observed;
        }

        wasReportedHeldTooLong = false;
        return false;
    }

    /// <summary>
    /// Drops what an ended lease no longer needs (the captured stack, kilobytes in <see cref="SqlConnectionStackCaptureMode.Full"/>), so
    /// a record still referenced by a registry slot or a report in flight does not keep it alive.
    /// </summary>
    internal void ReleaseReferences() => Volatile.Write(ref _stack, null);

    /// <summary>Marks the lease as reported by the watchdog if it is still active and not yet reported.</summary>
    /// <returns><see langword="true"/> for the caller that marked it.</returns>
    internal bool TryMarkHeldTooLong() => Interlocked.CompareExchange(ref _state, HeldTooLongBit, 0) == 0;

    internal SqlConnectionCallSite? CreateCallSite() =>
        FilePath is null ? null : new SqlConnectionCallSite(MemberName ?? string.Empty, FilePath, LineNumber);
}

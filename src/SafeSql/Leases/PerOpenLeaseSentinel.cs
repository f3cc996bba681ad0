using System.Data;
using System.Diagnostics;

namespace SafeSql;

/// <summary>
/// Tracks a connection handed out unopened (<c>SafeSqlDataSource.CreateConnection</c>) on every open: each
/// <c>StateChange</c> to Open starts a lease, each change to Closed ends it. Like <see cref="LeaseSentinel"/>, the
/// connection's event is the only reference to it, so its finalizer reports a connection collected while open.
/// </summary>
/// <remarks>
/// Code that opens and closes one connection around each query (EF Core, many repositories) gets one lease per open, with
/// the call site of <c>CreateConnection</c> (the code that opens it is SqlClient's caller, which caller info cannot see;
/// <see cref="SqlConnectionStackCaptureMode.Full"/> records the opener's stack). The finalizer is armed only while the connection is open.
/// </remarks>
internal sealed class PerOpenLeaseSentinel
{
    private readonly LeaseTracker _tracker;
    private readonly string? _memberName;
    private readonly string? _filePath;
    private readonly int _lineNumber;
    private readonly bool _notesPhysicalConnection;
    private LeaseRecord? _current;

    /// <param name="tracker">The pool's tracker.</param>
    /// <param name="memberName">The call site's member.</param>
    /// <param name="filePath">The call site's file.</param>
    /// <param name="lineNumber">The call site's line.</param>
    /// <param name="notesPhysicalConnection">Whether each open notes its physical connection
    /// (<see cref="LeaseTracker.PhysicalConnections"/>): for connections the caller opens itself, whose opens the data source
    /// does not observe; a connection the data source opens (a holder's) is noted there, which decides <c>create_time</c>.</param>
    internal PerOpenLeaseSentinel(LeaseTracker tracker, string? memberName, string? filePath, int lineNumber, bool notesPhysicalConnection = false)
    {
        _tracker = tracker;
        _notesPhysicalConnection = notesPhysicalConnection;
        _memberName = memberName;
        _filePath = filePath;
        _lineNumber = lineNumber;
#pragma warning disable CA1816 // Not IDisposable: the finalizer is armed while the connection is open, and only then.
        GC.SuppressFinalize(this);
#pragma warning restore CA1816
    }

    ~PerOpenLeaseSentinel()
    {
        if (Volatile.Read(ref _current) is { } record)
        {
            _tracker.OnCollected(record);
        }
    }

    /// <summary>The connection's <c>StateChange</c> handler: a lease per open.</summary>
    internal void OnStateChange(object sender, StateChangeEventArgs e)
    {
        if (e.CurrentState == ConnectionState.Open && e.OriginalState != ConnectionState.Open)
        {
            var stack = _tracker.StackCapture == SqlConnectionStackCaptureMode.Full ? new StackTrace(1, fNeedFileInfo: true) : null;
            Volatile.Write(ref _current, _tracker.Begin(_memberName, _filePath, _lineNumber, stack));
            if (_notesPhysicalConnection && _tracker.Pooling && sender is Microsoft.Data.SqlClient.SqlConnection connection)
            {
                _tracker.PhysicalConnections.Add(connection.ClientConnectionId);
            }

            GC.ReRegisterForFinalize(this);
        }
        else if (e.CurrentState == ConnectionState.Closed && Interlocked.Exchange(ref _current, null) is { } record)
        {
#pragma warning disable CA1816 // See the constructor.
            GC.SuppressFinalize(this);
#pragma warning restore CA1816
            _tracker.OnClosed(record);
        }
    }

    /// <summary>
    /// At the end of the holder's scope (an EF Core <c>DbContext</c> disposing the connection it owns): ends the current
    /// lease if the connection is still open and returns it, to be reported through <see cref="ReportScopeLeak"/> once the
    /// connection is disposed; <see langword="null"/> when nothing is open.
    /// </summary>
    internal LeaseRecord? TryEndAtScopeEnd(Microsoft.Data.SqlClient.SqlConnection connection, out TimeSpan heldFor)
    {
        heldFor = default;
        if (Volatile.Read(ref _current) is not { } record || !_tracker.TryEndAtScopeEnd(record, connection, out heldFor))
        {
            return null;
        }

        Interlocked.CompareExchange(ref _current, null, record);
#pragma warning disable CA1816 // See the constructor.
        GC.SuppressFinalize(this);
#pragma warning restore CA1816
        return record;
    }

    /// <summary>Reports a lease ended by <see cref="TryEndAtScopeEnd"/> (call after disposing the connection).</summary>
    internal void ReportScopeLeak(LeaseRecord record, TimeSpan heldFor) => _tracker.ReportScopeLeak(record, heldFor);
}

namespace SafeSql;

/// <summary>How much of the opening code a lease records, for leak reports and pool snapshots.</summary>
public enum SqlConnectionStackCaptureMode
{
    /// <summary>
    /// No source location is recorded. Leases are still tracked, counted and enforced (scopes, finalizer, held-too-long
    /// watchdog, pool-exhausted message), but reports cannot say where the connection was opened.
    /// </summary>
    None = 0,

    /// <summary>
    /// The caller's file, line and member are recorded. They are compile-time constants passed through
    /// <see cref="System.Runtime.CompilerServices.CallerFilePathAttribute"/> and friends, so this mode costs nothing extra.
    /// This is the default.
    /// </summary>
    CallSite = 1,

    /// <summary>
    /// The call site plus a full <see cref="System.Diagnostics.StackTrace"/> (with file and line information) captured at
    /// every open. Capturing a stack costs tens of microseconds per open: use it to hunt a leak, not in steady state.
    /// </summary>
    Full = 2,
}

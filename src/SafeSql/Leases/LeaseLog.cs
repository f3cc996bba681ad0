using Microsoft.Extensions.Logging;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>Log messages of lease tracking and leak detection (event ids 1000s and 2000s, <see cref="SafeSqlEventId"/>).</summary>
/// <remarks>
/// The leak templates render exactly <see cref="SqlConnectionLeakReport.Message"/> (built by <see cref="LeakMessages"/> from the
/// same fragments), so the log, the callback and the exception read the same.
/// </remarks>
internal static partial class LeaseLog
{
    [LoggerMessage(
        EventId = SafeSqlEventId.LeaseTrackingStarted,
        Level = LogLevel.Debug,
        Message = "SafeSql pool '{PoolName}' tracks leases: Max Pool Size={MaxPoolSize}, StackCapture={StackCapture}, LeakDetectionThreshold={LeakDetectionThreshold}.")]
    internal static partial void LeaseTrackingStarted(ILogger logger, string poolName, int maxPoolSize, SqlConnectionStackCaptureMode stackCapture, string leakDetectionThreshold);

    [LoggerMessage(
        EventId = SafeSqlEventId.PoolExhausted,
        Level = LogLevel.Error,
        Message = "SafeSql pool '{PoolName}': {PoolExhaustedMessage}")]
    internal static partial void PoolExhausted(ILogger logger, string poolName, string poolExhaustedMessage);

    [LoggerMessage(
        EventId = SafeSqlEventId.LeakNotDisposedBeforeScopeEnd,
        Level = LogLevel.Warning,
        Message = LeakMessages.NotDisposedBeforeScopeEndTemplate)]
    internal static partial void LeakNotDisposedBeforeScopeEnd(ILogger logger, string poolName, string callSite, double leaseAgeSeconds, string stackTrace);

    [LoggerMessage(
        EventId = SafeSqlEventId.LeakCollectedWithoutDispose,
        Level = LogLevel.Warning,
        Message = LeakMessages.CollectedWithoutDisposeTemplate)]
    internal static partial void LeakCollectedWithoutDispose(ILogger logger, string poolName, string callSite, double leaseAgeSeconds, string stackTrace);

    [LoggerMessage(
        EventId = SafeSqlEventId.LeaseHeldTooLong,
        Level = LogLevel.Warning,
        Message = LeakMessages.HeldTooLongTemplate)]
    internal static partial void LeaseHeldTooLong(ILogger logger, string poolName, string callSite, double leaseAgeSeconds, double leakDetectionThresholdSeconds, string stackTrace);

    [LoggerMessage(
        EventId = SafeSqlEventId.LeaseReturnedAfterHeldTooLong,
        Level = LogLevel.Information,
        Message = LeakMessages.ReturnedAfterHeldTooLongTemplate)]
    internal static partial void LeaseReturnedAfterHeldTooLong(ILogger logger, string poolName, string callSite, double leaseAgeSeconds);

    [LoggerMessage(
        EventId = SafeSqlEventId.LeakCallbackFailed,
        Level = LogLevel.Warning,
        Message = "The OnLeakDetected callback of SafeSql pool '{PoolName}' threw; the leak report was still logged and counted. Make the callback catch its own exceptions.")]
    internal static partial void LeakCallbackFailed(ILogger logger, Exception exception, string poolName);

    [LoggerMessage(
        EventId = SafeSqlEventId.LeakedConnectionDisposeFailed,
        Level = LogLevel.Warning,
        Message = "Disposing a leaked connection of SafeSql pool '{PoolName}' at scope end threw; the scope went on disposing the others.")]
    internal static partial void LeakedConnectionDisposeFailed(ILogger logger, Exception exception, string poolName);

    [LoggerMessage(
        EventId = SafeSqlEventId.LeakReportFailed,
        Level = LogLevel.Warning,
        Message = "Reporting a {LeakKind} leak of SafeSql pool '{PoolName}' threw on a background thread (a logging provider or metrics listener failed); the report may be incomplete. The finalizer drain and the watchdog go on.")]
    internal static partial void LeakReportFailed(ILogger logger, Exception exception, string poolName, SqlConnectionLeakKind leakKind);
}

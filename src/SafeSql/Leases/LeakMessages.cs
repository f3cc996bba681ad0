using System.Globalization;

namespace SafeSql;

/// <summary>
/// The texts of leak reports and of the pool-exhausted exception. Each template is both a <c>[LoggerMessage]</c> template
/// and, through <see cref="Format"/>, the <see cref="SqlConnectionLeakReport.Message"/>, so the two never drift apart.
/// </summary>
internal static class LeakMessages
{
    internal const string NotDisposedBeforeScopeEndTemplate =
        "Connection leak in SafeSql pool '{PoolName}': the connection opened at {CallSite} was still open when its scope ended, {LeaseAgeSeconds} s after it was opened; SafeSql disposed it (returned it to the pool). Dispose every connection before its scope ends: 'await using var connection = await factory.OpenAsync();'.{StackTrace}";

    internal const string CollectedWithoutDisposeTemplate =
        "Connection leak in SafeSql pool '{PoolName}': the connection opened at {CallSite} was garbage-collected without being closed or disposed, {LeaseAgeSeconds} s after it was opened; its pooled connection could not be reused until then. Dispose every connection: 'await using var connection = await factory.OpenAsync();'.{StackTrace}";

    internal const string HeldTooLongTemplate =
        "Possible connection leak in SafeSql pool '{PoolName}': the connection opened at {CallSite} has been held for {LeaseAgeSeconds} s, longer than LeakDetectionThreshold={LeakDetectionThresholdSeconds} s. Dispose connections as soon as the work is done, or raise SafeSqlOptions.Leaks.LeakDetectionThreshold for long-running work.{StackTrace}";

    internal const string ReturnedAfterHeldTooLongTemplate =
        "The connection of SafeSql pool '{PoolName}' opened at {CallSite}, reported as held too long, was returned after {LeaseAgeSeconds} s.";

    /// <summary>How a lease without a recorded call site is named.</summary>
    internal const string UnknownCallSite = "an unknown call site (StackCapture=None)";

    internal static double Seconds(TimeSpan duration) => Math.Round(duration.TotalSeconds, 3, MidpointRounding.AwayFromZero);

    internal static string SecondsText(double seconds) => seconds.ToString(CultureInfo.InvariantCulture);

    internal static string StackSuffix(string? stackTrace) => stackTrace is null ? string.Empty : Environment.NewLine + stackTrace;

    /// <summary>Replaces each <c>{Name}</c> hole of <paramref name="template"/> with the value of the same name (invariant culture).</summary>
    internal static string Format(string template, params ReadOnlySpan<(string Name, object Value)> values)
    {
        var result = template;
        foreach (var (name, value) in values)
        {
            result = result.Replace("{" + name + "}", Convert.ToString(value, CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }

        return result;
    }
}

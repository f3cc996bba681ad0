using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Resources;

using Microsoft.Data.SqlClient;

namespace SafeSql;

/// <summary>
/// What SqlClient's exceptions look like, in ways that survive localization: stack-frame type names, the
/// "(provider: ..., error: N - ...)" frame, and SqlClient's own resource strings in the current UI culture.
/// </summary>
internal static class SqlClientSignatures
{
    /// <summary>The resource set SqlClient 6.x-7.x formats its messages from (Microsoft.Data.SqlClient.Resources.Strings).</summary>
    private const string ResourceBaseName = "Microsoft.Data.SqlClient.Resources.Strings";

    // English text of SqlClient's resources ADP_PooledOpenTimeout and ADP_NonPooledOpenTimeout (Strings.resx).
    private const string PooledOpenTimeoutText = "obtaining a connection from the pool";
    private const string NonPooledOpenTimeoutText = "too many simultaneous non-pooled connection attempts";

    private static readonly Assembly s_sqlClientAssembly = typeof(SqlConnection).Assembly;
    // English text of SqlClient's resources Snix_PreLogin and Snix_PreLoginBeforeSuccessfulWrite (Strings.resx): the message of
    // a failure after the TCP connect and before the server's PRELOGIN answer (a reset met the read, or the write).
    private const string PreLoginReadText = "but then an error occurred during the pre-login handshake";
    private const string PreLoginWriteText = "error during connection initialization process before login";

    private static readonly ConcurrentDictionary<(CultureInfo Culture, string Key), string?> s_localized = new();
    private static ResourceManager? s_resources;

    /// <summary>
    /// Recognizes the pool's timeout: SqlClient's <see cref="InvalidOperationException"/> "Timeout expired. The timeout
    /// period elapsed prior to obtaining a connection from the pool" (ADP.PooledOpenTimeout), in English or in the current
    /// UI culture; also the non-pooled variant, a <see cref="TimeoutException"/> "Timeout attempting to open the connection
    /// ... too many simultaneous non-pooled connection attempts" (ADP.NonPooledOpenTimeout).
    /// </summary>
    internal static bool IsPoolTimeout(Exception exception, out bool nonPooled)
    {
        var message = exception.Message;
        if (message.Contains(PooledOpenTimeoutText, StringComparison.Ordinal))
        {
            nonPooled = false;
            return true;
        }

        if (message.Contains(NonPooledOpenTimeoutText, StringComparison.Ordinal))
        {
            nonPooled = true;
            return true;
        }

        var nonPooledText = GetLocalizedText("ADP_NonPooledOpenTimeout");
        nonPooled = nonPooledText is not null && string.Equals(message, nonPooledText, StringComparison.Ordinal);
        return nonPooled || GetLocalizedText("ADP_PooledOpenTimeout") is { } pooled && string.Equals(message, pooled, StringComparison.Ordinal);
    }

    /// <summary>
    /// Reads N from "(provider: TCP Provider, error: N - ...)". TdsParser.ProcessSNIError formats that frame with a fixed,
    /// unlocalized string. Returns -1 when absent.
    /// </summary>
    internal static int GetProviderErrorNumber(string message)
    {
        var span = message.AsSpan();
        var provider = span.IndexOf("(provider: ", StringComparison.Ordinal);
        if (provider < 0)
        {
            return -1;
        }

        span = span[provider..];
        var error = span.IndexOf(", error: ", StringComparison.Ordinal);
        if (error < 0)
        {
            return -1;
        }

        span = span[(error + ", error: ".Length)..];
        var digits = 0;
        while (digits < span.Length && char.IsAsciiDigit(span[digits]))
        {
            digits++;
        }

        return digits > 0 && int.TryParse(span[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : -1;
    }

    /// <summary>
    /// Decides from the stack frames whether SqlClient was opening a connection or executing: the innermost SqlClient
    /// frame that belongs to the login code (<c>SqlInternalConnectionTds</c> (6.x) or <c>SqlConnectionInternal</c> (7.x)
    /// constructor or login methods,
    /// <c>TdsParser.Connect</c>, the pool) means open; one in <c>SqlCommand</c>, <c>SqlDataReader</c>, <c>SqlBulkCopy</c> or
    /// a transaction means execute. Type names are not localized; asynchronous exceptions keep their original frames.
    /// </summary>
    internal static SqlOperationPhase DetectPhase(Exception exception)
    {
        var trace = new StackTrace(exception, fNeedFileInfo: false);
        for (var i = 0; i < trace.FrameCount; i++)
        {
            var method = trace.GetFrame(i)?.GetMethod();
            var type = method?.DeclaringType;
            if (type is null || type.Assembly != s_sqlClientAssembly)
            {
                continue;
            }

            while (type.DeclaringType is not null)
            {
                type = type.DeclaringType;
            }

            var phase = PhaseOf(type.Name, method!.Name);
            if (phase != SqlOperationPhase.Unknown)
            {
                return phase;
            }
        }

        return SqlOperationPhase.Unknown;
    }

    /// <summary>
    /// Whether SqlClient failed while sending its PRELOGIN or reading the server's answer: the TCP connect had succeeded and the
    /// server had not yet answered. A server whose accept queue was full when the handshake completed resets exactly there.
    /// Decided by the stack frames (<c>TdsParser.SendPreLoginHandshake</c>, <c>ConsumePreLoginHandshake</c>), else, for the copy
    /// SqlClient's pool rethrows during its blocking period (thrown from the pool, so without those frames), by the message:
    /// SqlClient's texts Snix_PreLogin and Snix_PreLoginBeforeSuccessfulWrite, in English or in the current UI culture.
    /// </summary>
    internal static bool IsInPreLogin(SqlException exception)
    {
        var message = exception.Message;
        if (message.Contains(PreLoginReadText, StringComparison.Ordinal) || message.Contains(PreLoginWriteText, StringComparison.Ordinal))
        {
            return true;
        }

        if ((GetLocalizedText("Snix_PreLogin") is { } read && message.StartsWith(read, StringComparison.Ordinal))
            || (GetLocalizedText("Snix_PreLoginBeforeSuccessfulWrite") is { } write && message.StartsWith(write, StringComparison.Ordinal)))
        {
            return true;
        }


        var trace = new StackTrace(exception, fNeedFileInfo: false);
        for (var i = 0; i < trace.FrameCount; i++)
        {
            var method = trace.GetFrame(i)?.GetMethod();
            if (method?.DeclaringType is { Name: "TdsParser" } type && type.Assembly == s_sqlClientAssembly
                && method.Name is "SendPreLoginHandshake" or "ConsumePreLoginHandshake")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The last resort for -2 when no frame decides: SqlClient's English connect-timeout texts.</summary>
    internal static bool LooksLikeConnectTimeout(string message) =>
        message.Contains("Connection Timeout Expired", StringComparison.Ordinal)
        || message.Contains("pre-login", StringComparison.OrdinalIgnoreCase)
        || message.Contains("[Login]", StringComparison.Ordinal);

    private static SqlOperationPhase PhaseOf(string typeName, string methodName)
    {
        switch (typeName)
        {
            case "SqlInternalConnectionTds": // SqlClient 6.x
            case "SqlConnectionInternal": // SqlClient 7.x
                return methodName == ".ctor" || methodName.Contains("Login", StringComparison.Ordinal) ? SqlOperationPhase.Open : SqlOperationPhase.Unknown;
            case "TdsParser":
                return methodName is "Connect" or "ConsumePreLoginHandshake" or "SendPreLoginHandshake" or "TdsLogin" ? SqlOperationPhase.Open : SqlOperationPhase.Unknown;
            case "DbConnectionPool":
            case "DbConnectionFactory":
            case "SqlConnectionFactory":
            case "WaitHandleDbConnectionPool":
            case "ChannelDbConnectionPool":
                return SqlOperationPhase.Open;
            case "SqlCommand":
            case "SqlDataReader":
            case "SqlBulkCopy":
            case "SqlTransaction":
            case "SqlInternalTransaction":
                return SqlOperationPhase.Execute;
            default:
                return SqlOperationPhase.Unknown;
        }
    }

    /// <summary>SqlClient's text for <paramref name="key"/> in the current UI culture, or <see langword="null"/> when it cannot be read.</summary>
    private static string? GetLocalizedText(string key)
    {
        var lookup = (CultureInfo.CurrentUICulture, key);
        return s_localized.TryGetValue(lookup, out var text) ? text : s_localized.GetOrAdd(lookup, LoadText);
    }

    private static string? LoadText((CultureInfo Culture, string Key) lookup)
    {
        try
        {
            var resources = s_resources ??= new ResourceManager(ResourceBaseName, s_sqlClientAssembly);
            return resources.GetString(lookup.Key, lookup.Culture);
        }
        catch (Exception ex) when (ex is MissingManifestResourceException or MissingSatelliteAssemblyException or InvalidOperationException)
        {
            return null;
        }
    }
}

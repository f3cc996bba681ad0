using System.Collections.Concurrent;
using System.Reflection;

using Microsoft.Data.SqlClient;

namespace SafeSql.ConnectionStrings;

/// <summary>
/// What the loaded Microsoft.Data.SqlClient knows about its keywords: the canonical name of each spelling, the defaults and
/// the version. Read from SqlClient at run time, never assumed: the defaults change between versions (Encrypt is
/// <c>Mandatory</c>, shown as <c>True</c>, since SqlClient 5.0).
/// </summary>
internal static class SqlClientKeywords
{
    internal const string Password = "Password";
    internal const string DataSource = "Data Source";
    internal const string InitialCatalog = "Initial Catalog";
    internal const string ApplicationName = "Application Name";
    internal const string WorkstationId = "Workstation ID";

    private static readonly ConcurrentDictionary<string, string> s_canonical = new(StringComparer.OrdinalIgnoreCase);
    private static readonly ConcurrentDictionary<string, bool> s_emptyValueAccepted = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets a builder holding SqlClient's defaults (do not modify).</summary>
    internal static SqlConnectionStringBuilder Defaults { get; } = new();

    /// <summary>Gets the version of the loaded SqlClient, for example "7.1.1".</summary>
    internal static string Version { get; } = GetVersion();

    /// <summary>Maps any spelling SqlClient accepts (<c>Pwd</c>, <c>Server</c>, <c>Connection Lifetime</c>, any case) to its
    /// canonical keyword; <see langword="null"/> for a keyword SqlClient does not support.</summary>
    internal static string? Canonical(string keyword) => !Defaults.ContainsKey(keyword) ? null : s_canonical.GetOrAdd(keyword, static k =>
    {
        // Only keywords SqlClient knows are cached, so arbitrary input cannot grow the cache.
        try
        {
            // Setting a keyword to its own default marks exactly its canonical entry as set.
            var probe = new SqlConnectionStringBuilder();
            probe[k] = Defaults[k];
            foreach (string candidate in probe.Keys)
            {
                if (probe.ShouldSerialize(candidate))
                {
                    return candidate;
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A keyword whose default cannot be set back (Authentication=NotSpecified): its name is its canonical name.
        }

        foreach (string candidate in Defaults.Keys)
        {
            if (string.Equals(candidate, k, StringComparison.OrdinalIgnoreCase))
            {
                return candidate;
            }
        }

        return k;
    });

    /// <summary>Whether the canonical keyword is the password (also spelled <c>Pwd</c>).</summary>
    internal static bool IsPassword(string? canonical) => string.Equals(canonical, Password, StringComparison.Ordinal);

    /// <summary>
    /// Whether <c>SqlConnection</c> accepts the keyword with nothing after its <c>=</c>. The builder resets such a keyword to
    /// its default, but SqlConnection fails on some (for example <c>Pooling=</c> throws a NullReferenceException on
    /// SqlClient 6.1.8 and 7.1.1). Asked once per keyword of the loaded SqlClient.
    /// </summary>
    internal static bool EmptyValueAccepted(string canonical) => s_emptyValueAccepted.GetOrAdd(canonical, static k =>
    {
        try
        {
            using var connection = new SqlConnection($"Data Source=.;{k}=");
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return false;
        }
    });

    private static string GetVersion()
    {
        var assembly = typeof(SqlConnection).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (!string.IsNullOrEmpty(informational))
        {
            var plus = informational.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? informational : informational[..plus];
        }

        return assembly.GetName().Version?.ToString() ?? "(unknown version)";
    }
}

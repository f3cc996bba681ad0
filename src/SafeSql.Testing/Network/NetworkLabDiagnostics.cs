namespace SafeSql.Testing.Network;

/// <summary>The diagnostic id under which the network labs (<see cref="WebFarm"/>, <see cref="PrivateNetworkNamespace"/>
/// and their options and results) are <see cref="System.Diagnostics.CodeAnalysis.ExperimentalAttribute"/>: they need Linux
/// and root, and tune kernel settings (ephemeral ports, <c>tcp_tw_reuse</c>, <c>somaxconn</c>) whose set may still change.
/// A project that uses them suppresses the id (<c>&lt;NoWarn&gt;$(NoWarn);SAFESQLEXP001&lt;/NoWarn&gt;</c>), as Npgsql's
/// experimental APIs ask.</summary>
internal static class NetworkLabDiagnostics
{
    /// <summary>The diagnostic id; docs/loopback-server.md, "Experimental APIs", lists what it covers.</summary>
    internal const string ExperimentalId = "SAFESQLEXP001";

    /// <summary>Where the diagnostic points: the "Experimental APIs" section of docs/loopback-server.md.</summary>
    internal const string ExperimentalUrl = "https://github.com/safesql/safesql/blob/main/docs/loopback-server.md#experimental-apis";
}

using System.Diagnostics.CodeAnalysis;

namespace SafeSql.Testing.Network;

/// <summary>How a program run by <see cref="PrivateNetworkNamespace"/> ended.</summary>
/// <param name="ExitCode">The program's exit code (-1 when it was killed after the timeout).</param>
/// <param name="StandardOutput">Everything it wrote to standard output.</param>
/// <param name="StandardError">Everything it (or the namespace setup) wrote to standard error.</param>
/// <param name="TimedOut">Whether it ran past <see cref="PrivateNetworkNamespaceOptions.Timeout"/> and was killed.</param>
[Experimental(NetworkLabDiagnostics.ExperimentalId, UrlFormat = NetworkLabDiagnostics.ExperimentalUrl)]
public sealed record PrivateNetworkNamespaceResult(int ExitCode, string StandardOutput, string StandardError, bool TimedOut);

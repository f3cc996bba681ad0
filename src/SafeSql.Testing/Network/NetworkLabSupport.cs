using System.ComponentModel;

namespace SafeSql.Testing.Network;

/// <summary>The support probe of the network labs (<see cref="WebFarm"/>, <see cref="PrivateNetworkNamespace"/>): Linux,
/// root, the tools installed, then a throw-away build of what the lab builds, since a container may have all of these and
/// still refuse namespaces.</summary>
internal static class NetworkLabSupport
{
    /// <summary>Gets why a lab cannot run here, checking in order: Linux, root, each tool, then the probe command.</summary>
    /// <param name="notLinux">What exists only on Linux, completing "not Linux: ".</param>
    /// <param name="tools">The tools the lab runs, each with the Debian package that installs it.</param>
    /// <param name="probeFileName">The probe's program.</param>
    /// <param name="probeArguments">Its arguments; it must exit with 0.</param>
    /// <param name="probeFailed">What a failed probe means, for example "'unshare --net' failed".</param>
    /// <param name="likelyCause">The usual reason the probe fails, as a question.</param>
    /// <param name="cleanUp">Deletes what the probe may have left (it may stop half-way); runs after the probe.</param>
    /// <returns>The reason, or <see langword="null"/> when the lab can run here.</returns>
    internal static string? DetectUnsupportedReason(
        string notLinux,
        IReadOnlyList<(string Tool, string Package)> tools,
        string probeFileName,
        IReadOnlyList<string> probeArguments,
        string probeFailed,
        string likelyCause,
        Action? cleanUp = null)
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not Linux: " + notLinux;
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "not root: creating a network namespace needs CAP_SYS_ADMIN (run the tests as root, as CI does)";
        }

        foreach (var (tool, package) in tools)
        {
            if (!NetworkLabTools.IsInstalled(tool))
            {
                return $"'{tool}' is not installed (Debian package {package}; eng/test.sh installs it)";
            }
        }

        try
        {
            var result = NetworkLabCommand.Run(probeFileName, probeArguments, NetworkLabCommand.DefaultTimeout);
            return result.ExitCode == 0 ? null : $"{probeFailed} ({result.Ending}; {likelyCause}): {result.Error.Trim()}";
        }
        catch (Win32Exception ex)
        {
            return $"'{probeFileName}' could not be started: {ex.Message}";
        }
        finally
        {
            cleanUp?.Invoke();
        }
    }
}

namespace SafeSql.Testing.Network;

/// <summary>Finds the programs the network labs (<see cref="WebFarm"/>, <see cref="PrivateNetworkNamespace"/>) run.</summary>
internal static class NetworkLabTools
{
    /// <summary>Where the tools live when PATH lacks them: a test host's PATH (or sudo's) may not have the sbin directories,
    /// where Debian installs <c>ip</c>.</summary>
    private static readonly string[] s_systemDirectories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

    /// <summary>Gets the full path of a tool, searching PATH first, then the system's bin and sbin directories.</summary>
    /// <param name="tool">The tool's file name, for example <c>ip</c>.</param>
    /// <returns>The full path, or <paramref name="tool"/> itself when it is not found (starting it then fails with the
    /// operating system's own error).</returns>
    internal static string Find(string tool)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Concat(s_systemDirectories))
        {
            var candidate = Path.Combine(directory, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return tool;
    }

    /// <summary>Gets whether <see cref="Find"/> finds a tool.</summary>
    /// <param name="tool">The tool's file name.</param>
    /// <returns><see langword="true"/> when the tool exists on PATH or in a system directory.</returns>
    internal static bool IsInstalled(string tool) => Find(tool) != tool;

    /// <summary>Gets the <c>dotnet</c> host that runs this process, so a .NET program started in a lab runs on the same
    /// runtime: this process's own executable when it is <c>dotnet</c>, else <c>DOTNET_HOST_PATH</c> (set by the SDK for
    /// test hosts and build tasks), else <c>dotnet</c> from PATH.</summary>
    /// <returns>The host's path, or <c>dotnet</c>.</returns>
    internal static string FindDotNetHost()
    {
        var processPath = Environment.ProcessPath;
        if (processPath is not null && Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return processPath;
        }

        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath) ? hostPath : "dotnet";
    }
}

using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace SafeSql.Testing.Network;

/// <summary>
/// Runs a program in a private Linux network namespace (<c>unshare -n</c>) with loopback up, a narrowed ephemeral port range
/// and <c>net.ipv4.tcp_tw_reuse=0</c>, so ephemeral port exhaustion happens after ~50 connections instead of 28,232, without
/// touching the host's network or settings.
/// </summary>
/// <remarks>
/// <para>
/// Needs Linux, root (creating a network namespace needs CAP_SYS_ADMIN), <c>unshare</c> (util-linux) and <c>ip</c> (iproute2).
/// <see cref="IsSupported"/> checks all of them once by creating a throw-away namespace; <see cref="UnsupportedReason"/> says
/// what is missing, so a test can skip with that reason.
/// </para>
/// <para>
/// The namespace lives as long as the program: its sockets, TIME_WAIT included, vanish with it. Only loopback exists inside,
/// so the program can reach only servers it starts itself.
/// </para>
/// </remarks>
[Experimental(NetworkLabDiagnostics.ExperimentalId, UrlFormat = NetworkLabDiagnostics.ExperimentalUrl)]
public static class PrivateNetworkNamespace
{
    private static readonly Lazy<string?> s_unsupportedReason = new(DetectUnsupportedReason);

    /// <summary>Gets a value indicating whether programs can be run in a private network namespace here.</summary>
    /// <value><see langword="true"/> on Linux as root with <c>unshare</c> and <c>ip</c> available and namespaces permitted.</value>
    public static bool IsSupported => s_unsupportedReason.Value is null;

    /// <summary>Gets why <see cref="IsSupported"/> is <see langword="false"/>.</summary>
    /// <value>For example "not root: creating a network namespace needs CAP_SYS_ADMIN (run the tests as root, as CI does)"; <see langword="null"/> when supported.</value>
    public static string? UnsupportedReason => s_unsupportedReason.Value;

    /// <summary>Runs a program in a new private network namespace and waits for it to exit.</summary>
    /// <param name="fileName">The program (a path, or a name found on PATH).</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="options">The namespace settings; <see langword="null"/> for the defaults (50 ephemeral ports, tcp_tw_reuse=0).</param>
    /// <param name="cancellationToken">Kills the program when canceled.</param>
    /// <returns>The exit code and the program's output.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="fileName"/> or <paramref name="arguments"/> is <see langword="null"/>.</exception>
    /// <exception cref="ValidationException"><paramref name="options"/> has a value outside its documented range, or the range ends before it starts.</exception>
    /// <exception cref="PlatformNotSupportedException">Namespaces are not supported here; the message is <see cref="UnsupportedReason"/>.</exception>
    public static async Task<PrivateNetworkNamespaceResult> RunAsync(
        string fileName,
        IReadOnlyList<string> arguments,
        PrivateNetworkNamespaceOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(arguments);
        options ??= new PrivateNetworkNamespaceOptions();
        EphemeralPortRange.Validate(options, options.EphemeralPortRangeStart, options.EphemeralPortRangeEnd);

        if (UnsupportedReason is { } reason)
        {
            throw new PlatformNotSupportedException(reason);
        }

        var run = await NetworkLabCommand.RunAsync(
            NetworkLabTools.Find("unshare"),
            ["--net", "--", "/bin/sh", "-c", BuildSetupScript(options), "safesql-netns", fileName, .. arguments],
            options.Timeout,
            cancellationToken).ConfigureAwait(false);
        return new PrivateNetworkNamespaceResult(run.ExitCode, run.Output, run.Error, run.TimedOut);
    }

    /// <summary>Runs a .NET program (its .dll) with the current <c>dotnet</c> host in a new private network namespace.</summary>
    /// <param name="assemblyPath">The program's main assembly, for example <c>SafeSql.NetworkLab.dll</c>.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="options">The namespace settings; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Kills the program when canceled.</param>
    /// <returns>The exit code and the program's output.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="assemblyPath"/> or <paramref name="arguments"/> is <see langword="null"/>.</exception>
    /// <exception cref="FileNotFoundException"><paramref name="assemblyPath"/> does not exist (build the program first).</exception>
    /// <exception cref="ValidationException"><paramref name="options"/> has a value outside its documented range.</exception>
    /// <exception cref="PlatformNotSupportedException">Namespaces are not supported here; the message is <see cref="UnsupportedReason"/>.</exception>
    public static Task<PrivateNetworkNamespaceResult> RunDotNetAsync(
        string assemblyPath,
        IReadOnlyList<string> arguments,
        PrivateNetworkNamespaceOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(assemblyPath);
        ArgumentNullException.ThrowIfNull(arguments);
        if (!File.Exists(assemblyPath))
        {
            throw new FileNotFoundException($"The program {assemblyPath} does not exist; build it first (dotnet build -c Release).", assemblyPath);
        }

        return RunAsync(NetworkLabTools.FindDotNetHost(), [assemblyPath, .. arguments], options, cancellationToken);
    }

    /// <summary>The shell script run as root inside the new namespace before exec'ing the program ("$@").</summary>
    internal static string BuildSetupScript(PrivateNetworkNamespaceOptions options)
    {
        var script = string.Create(
            CultureInfo.InvariantCulture,
            $"set -e; ip link set lo up; echo '{options.EphemeralPortRangeStart} {options.EphemeralPortRangeEnd}' > /proc/sys/net/ipv4/ip_local_port_range; ");
        if (options.TcpTimeWaitReuse is { } reuse)
        {
            script += string.Create(CultureInfo.InvariantCulture, $"echo {reuse} > /proc/sys/net/ipv4/tcp_tw_reuse; ");
        }

        if (options.DisableIPv6)
        {
            script += "if [ -w /proc/sys/net/ipv6/conf/lo/disable_ipv6 ]; then echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6; fi; ";
        }

        return script + "exec \"$@\"";
    }

    private static string? DetectUnsupportedReason() => NetworkLabSupport.DetectUnsupportedReason(
        notLinux: "private network namespaces (unshare -n) exist only on Linux",
        tools: [("unshare", "util-linux"), ("ip", "iproute2")],
        probeFileName: NetworkLabTools.Find("unshare"),
        probeArguments: ["--net", "--", "ip", "link", "set", "lo", "up"],
        probeFailed: "'unshare --net' failed",
        likelyCause: "a container without CAP_SYS_ADMIN?");
}

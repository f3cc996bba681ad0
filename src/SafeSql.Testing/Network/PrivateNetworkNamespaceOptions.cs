using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;

namespace SafeSql.Testing.Network;

/// <summary>How <see cref="PrivateNetworkNamespace"/> sets up the namespace a program runs in.</summary>
/// <remarks>
/// The settings are per network namespace (Linux <c>net.ipv4.ip_local_port_range</c> and <c>net.ipv4.tcp_tw_reuse</c> are
/// namespaced), so the host's own settings are never touched.
/// </remarks>
[Experimental(NetworkLabDiagnostics.ExperimentalId, UrlFormat = NetworkLabDiagnostics.ExperimentalUrl)]
public sealed class PrivateNetworkNamespaceOptions
{
    /// <summary>Gets or sets the first port of the ephemeral range inside the namespace (<c>net.ipv4.ip_local_port_range</c>).</summary>
    /// <value>The default value is 40000. Accepted range: 1024 to 65535.</value>
    [Range(1024, 65535)]
    public int EphemeralPortRangeStart { get; set; } = 40000;

    /// <summary>Gets or sets the last port (inclusive) of the ephemeral range inside the namespace.</summary>
    /// <value>
    /// The default value is 40049: 50 ports, so about 50 unpooled opens exhaust them (instead of the 28,232 of Linux's
    /// default range). Must not be below <see cref="EphemeralPortRangeStart"/>.
    /// </value>
    [Range(1024, 65535)]
    public int EphemeralPortRangeEnd { get; set; } = 40049;

    /// <summary>Gets or sets <c>net.ipv4.tcp_tw_reuse</c> inside the namespace; <see langword="null"/> keeps the kernel default.</summary>
    /// <value>
    /// The default value is 0 (never reuse a port in TIME_WAIT), as towards a remote server. Linux's default, 2, reuses
    /// TIME_WAIT ports on loopback after about 1 s, which hides exhaustion on loopback.
    /// </value>
    [Range(0, 2)]
    public int? TcpTimeWaitReuse { get; set; } = 0;

    /// <summary>Gets or sets a value indicating whether IPv6 is disabled on the namespace's loopback (no <c>::1</c>).</summary>
    /// <value>The default value is <see langword="false"/>. <see langword="true"/> reproduces a container without IPv6, where connecting to <c>[::1]</c> fails with EADDRNOTAVAIL.</value>
    public bool DisableIPv6 { get; set; }

    /// <summary>Gets or sets how long the program may run before it is killed.</summary>
    /// <value>The default value is 2 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(2);
}

using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;

namespace SafeSql.Testing.Network;

/// <summary>How <see cref="WebFarm"/> builds its hosts: how many client hosts, their ephemeral ports, and how the server
/// host's kernel answers a full accept queue.</summary>
/// <remarks>
/// Every setting is per network namespace (<c>net.core.somaxconn</c>, <c>net.ipv4.tcp_abort_on_overflow</c>,
/// <c>net.ipv4.ip_local_port_range</c> and <c>net.ipv4.tcp_tw_reuse</c> are namespaced since Linux 4.x), so the machine's
/// own settings are never touched.
/// </remarks>
[Experimental(NetworkLabDiagnostics.ExperimentalId, UrlFormat = NetworkLabDiagnostics.ExperimentalUrl)]
public sealed class WebFarmOptions
{
    /// <summary>Gets or sets how many client hosts (web servers) the farm has, each its own network namespace.</summary>
    /// <value>The default value is 8. Accepted range: 1 to 32.</value>
    [Range(1, WebFarm.MaxClientHosts)]
    public int ClientHosts { get; set; } = 8;

    /// <summary>Gets or sets the first port of each client host's ephemeral range (<c>net.ipv4.ip_local_port_range</c>).</summary>
    /// <value>The default value is 1024, the start of the range of older Windows. Accepted range: 1024 to 65535.</value>
    [Range(1024, 65535)]
    public int EphemeralPortRangeStart { get; set; } = 1024;

    /// <summary>Gets or sets the last port (inclusive) of each client host's ephemeral range.</summary>
    /// <value>The default value is 5000: 3,977 ports, the range of older Windows (MaxUserPort). Must not be below
    /// <see cref="EphemeralPortRangeStart"/>.</value>
    [Range(1024, 65535)]
    public int EphemeralPortRangeEnd { get; set; } = 5000;

    /// <summary>Gets or sets <c>net.ipv4.tcp_tw_reuse</c> on each client host.</summary>
    /// <value>The default value is 0: a port in TIME_WAIT is never reused for a new connection, as towards a remote server
    /// with Linux's default of 2 (which reuses only on loopback). Accepted range: 0 to 2.</value>
    [Range(0, 2)]
    public int TcpTimeWaitReuse { get; set; }

    /// <summary>Gets or sets <c>net.core.somaxconn</c> on the server host: the cap Linux puts on every listen backlog there.</summary>
    /// <value>The default value is 4096 (Linux's default since 5.4). Accepted range: 1 to 65535.</value>
    [Range(1, 65535)]
    public int ServerSomaxconn { get; set; } = 4096;

    /// <summary>Gets or sets <c>net.ipv4.tcp_abort_on_overflow</c> on the server host: what happens to a handshake whose last
    /// ACK arrives while the listener's accept queue is full.</summary>
    /// <value>
    /// The default value is <see langword="true"/> (1): the server answers with a reset (RST), as Windows does and as the
    /// Microsoft article on listen-backlog overflow describes; the client's <c>connect()</c> has usually already succeeded,
    /// so the reset meets its first read or write (SqlClient's PRELOGIN). <see langword="false"/> (0, Linux's default) drops
    /// that ACK and lets the client's retransmissions try again. A SYN that arrives while the queue is full is dropped
    /// either way (counted in <c>ListenDrops</c>); the client resends it after 1 s, 3 s, 7 s...
    /// </value>
    public bool ServerAbortOnOverflow { get; set; } = true;

    /// <summary>Gets or sets <c>net.ipv4.tcp_syncookies</c> on the server host.</summary>
    /// <value>
    /// The default value is 1 (Linux's default): once a listener's SYN queue holds as many half-open handshakes as its backlog,
    /// new SYNs are answered with a cookie instead of being queued, and a cookie handshake whose last ACK meets a full accept
    /// queue is dropped silently, even with <see cref="ServerAbortOnOverflow"/> (the client believes it is connected and
    /// times out in PRELOGIN). 0 drops SYNs beyond the SYN queue instead, so every handshake that completes went through the
    /// queue and a full accept queue answers it with a reset. Accepted range: 0 to 2.
    /// </value>
    [Range(0, 2)]
    public int ServerSynCookies { get; set; } = 1;

    /// <summary>Gets or sets how long a process started in the farm may run before it is killed.</summary>
    /// <value>The default value is 2 minutes. Accepted range: 1 second to 30 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan ProcessTimeout { get; set; } = TimeSpan.FromMinutes(2);
}

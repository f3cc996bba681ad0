using System.Globalization;
using System.Net;

namespace SafeSql;

/// <summary>
/// TCP facts read from the operating system at one moment: the ephemeral port range, how many sockets (and how many in
/// TIME_WAIT) exist towards one remote endpoint and in total, and the kernel settings that govern port reuse.
/// </summary>
/// <remarks>
/// <para>
/// On Linux the figures come from <c>/proc/net/tcp</c> and <c>/proc/net/tcp6</c> (the sockets of the caller's network
/// namespace) and <c>/proc/sys/net</c>; elsewhere from <see cref="System.Net.NetworkInformation.IPGlobalProperties"/> with the IANA
/// dynamic range 49152-65535 assumed (Windows: learn.microsoft.com "Troubleshoot port exhaustion issues").
/// </para>
/// <para>
/// A connect() without bind() needs a local port that is unused <em>towards that remote endpoint</em>; on Linux a port in
/// TIME_WAIT towards the endpoint stays unusable for 60 s (TCP_TIMEWAIT_LEN; <c>tcp_fin_timeout</c> does not shorten it)
/// unless <c>net.ipv4.tcp_tw_reuse</c> allows reuse (the default, 2, allows it on loopback only).
/// </para>
/// </remarks>
public sealed class SafeSqlTcpSnapshot
{
    /// <summary>The share of the ephemeral range that must be in use towards the endpoint before SafeSql calls it exhausted: 90 %.</summary>
    public const double ExhaustionThreshold = 0.9;

    internal const string UnavailableSource = "unavailable";

    internal SafeSqlTcpSnapshot(
        IPEndPoint? remoteEndPoint,
        int ephemeralPortRangeStart,
        int ephemeralPortRangeEnd,
        int ephemeralPortCount,
        bool isEphemeralPortRangeAssumed,
        int? connectionsTowardsEndPoint,
        int? timeWaitTowardsEndPoint,
        int connectionsTotal,
        int timeWaitTotal,
        TimeSpan? tcpFinTimeout,
        int? listenBacklogLimit,
        int? tcpTimeWaitReuse,
        bool portsSharedAcrossDestinations,
        string source)
    {
        RemoteEndPoint = remoteEndPoint;
        EphemeralPortRangeStart = ephemeralPortRangeStart;
        EphemeralPortRangeEnd = ephemeralPortRangeEnd;
        EphemeralPortCount = ephemeralPortCount;
        IsEphemeralPortRangeAssumed = isEphemeralPortRangeAssumed;
        ConnectionsTowardsEndPoint = connectionsTowardsEndPoint;
        TimeWaitTowardsEndPoint = timeWaitTowardsEndPoint;
        ConnectionsTotal = connectionsTotal;
        TimeWaitTotal = timeWaitTotal;
        TcpFinTimeout = tcpFinTimeout;
        ListenBacklogLimit = listenBacklogLimit;
        TcpTimeWaitReuse = tcpTimeWaitReuse;
        PortsSharedAcrossDestinations = portsSharedAcrossDestinations;
        Source = source;
    }

    /// <summary>Gets the remote endpoint the per-endpoint counts refer to.</summary>
    /// <value>The endpoint; <see langword="null"/> when none was given (only totals were counted). A port of 0 means "any port" (a named instance); <see cref="IPAddress.Any"/> means "any address" (a host name that was not resolved).</value>
    public IPEndPoint? RemoteEndPoint { get; }

    /// <summary>Gets the first port of the ephemeral (dynamic) range.</summary>
    /// <value>From <c>net.ipv4.ip_local_port_range</c> on Linux (default 32768); 49152 elsewhere.</value>
    public int EphemeralPortRangeStart { get; }

    /// <summary>Gets the last port (inclusive) of the ephemeral range.</summary>
    /// <value>From <c>net.ipv4.ip_local_port_range</c> on Linux (default 60999); 65535 elsewhere.</value>
    public int EphemeralPortRangeEnd { get; }

    /// <summary>Gets how many ports of the range a connect() may use.</summary>
    /// <value>The range size less the ports listed in <c>net.ipv4.ip_local_reserved_ports</c> (Linux): 28,232 by default on Linux, 16,384 on Windows.</value>
    public int EphemeralPortCount { get; }

    /// <summary>Gets a value indicating whether the range is the documented default rather than read from the operating system.</summary>
    /// <value><see langword="true"/> outside Linux.</value>
    public bool IsEphemeralPortRangeAssumed { get; }

    /// <summary>Gets how many local sockets (any state but LISTEN, TIME_WAIT included) have <see cref="RemoteEndPoint"/> as their remote end.</summary>
    /// <value>Each holds one local port towards that endpoint; <see langword="null"/> when <see cref="RemoteEndPoint"/> is null.</value>
    public int? ConnectionsTowardsEndPoint { get; }

    /// <summary>Gets how many of <see cref="ConnectionsTowardsEndPoint"/> are in TIME_WAIT.</summary>
    /// <value>A count; <see langword="null"/> when <see cref="RemoteEndPoint"/> is null.</value>
    public int? TimeWaitTowardsEndPoint { get; }

    /// <summary>Gets how many TCP sockets (any state but LISTEN) exist, towards any endpoint.</summary>
    /// <value>A count over the caller's network namespace (Linux) or machine.</value>
    public int ConnectionsTotal { get; }

    /// <summary>Gets how many TCP sockets are in TIME_WAIT, towards any endpoint.</summary>
    /// <value>A count.</value>
    public int TimeWaitTotal { get; }

    /// <summary>Gets <c>net.ipv4.tcp_fin_timeout</c> (how long an orphaned connection stays in FIN_WAIT_2; it does not shorten TIME_WAIT).</summary>
    /// <value>Seconds as a <see cref="TimeSpan"/> (Linux default 60 s); <see langword="null"/> outside Linux.</value>
    public TimeSpan? TcpFinTimeout { get; }

    /// <summary>Gets <c>net.core.somaxconn</c>, the upper bound of a listening socket's accept backlog.</summary>
    /// <value>A count (Linux default 4096 since kernel 5.4); <see langword="null"/> outside Linux.</value>
    public int? ListenBacklogLimit { get; }

    /// <summary>Gets <c>net.ipv4.tcp_tw_reuse</c>: 0 = never reuse a TIME_WAIT port, 1 = reuse, 2 = reuse on loopback only (the default).</summary>
    /// <value>The setting; <see langword="null"/> outside Linux.</value>
    public int? TcpTimeWaitReuse { get; }

    /// <summary>Gets a value indicating whether the operating system lets connections to different destinations share a local port.</summary>
    /// <value><see langword="true"/> on Linux (ports are exhausted per destination); <see langword="false"/> elsewhere (ports are exhausted machine-wide).</value>
    public bool PortsSharedAcrossDestinations { get; }

    /// <summary>Gets where the figures were read.</summary>
    /// <value>For example "/proc/net/tcp, /proc/net/tcp6" or "IPGlobalProperties".</value>
    public string Source { get; }

    /// <summary>Gets how many sockets compete for the ephemeral range when connecting to <see cref="RemoteEndPoint"/>.</summary>
    /// <value><see cref="ConnectionsTowardsEndPoint"/> where ports are shared across destinations (Linux); otherwise <see cref="ConnectionsTotal"/>.</value>
    public int PortsInUse => PortsSharedAcrossDestinations && ConnectionsTowardsEndPoint is { } towards ? towards : ConnectionsTotal;

    /// <summary>Gets a value indicating whether the figures show the ephemeral range (nearly) exhausted.</summary>
    /// <value><see langword="true"/> when <see cref="PortsInUse"/> is at least <see cref="ExhaustionThreshold"/> (90 %) of <see cref="EphemeralPortCount"/>.</value>
    public bool IndicatesExhaustion => EphemeralPortCount > 0 && PortsInUse >= EphemeralPortCount * ExhaustionThreshold;

    /// <summary>Gets a value indicating whether the socket counts could be read at all.</summary>
    internal bool HasCounts => Source != UnavailableSource;

    /// <summary>Describes the figures in one sentence.</summary>
    /// <returns>
    /// For example "28,190 of 28,232 ephemeral ports (32768-60999) in use towards 10.0.0.5:1433, 28,150 of them in TIME_WAIT
    /// (28,150 TIME_WAIT in total)"; when only totals were read, "only 686 TCP sockets exist in all (634 in TIME_WAIT) for
    /// 28,232 ephemeral ports (32768-60999)".
    /// </returns>
    public override string ToString()
    {
        var culture = CultureInfo.InvariantCulture;
        var range = string.Create(culture, $"{EphemeralPortRangeStart}-{EphemeralPortRangeEnd}{(IsEphemeralPortRangeAssumed ? ", assumed" : string.Empty)}");
        if (PortsSharedAcrossDestinations && RemoteEndPoint is not null && ConnectionsTowardsEndPoint is not null)
        {
            return string.Create(culture, $"{ConnectionsTowardsEndPoint:N0} of {EphemeralPortCount:N0} ephemeral ports ({range}) in use towards {Describe(RemoteEndPoint)}, {TimeWaitTowardsEndPoint:N0} of them in TIME_WAIT ({TimeWaitTotal:N0} TIME_WAIT in total)");
        }

        return PortsSharedAcrossDestinations
            ? string.Create(culture, $"{(IndicatesExhaustion ? string.Empty : "only ")}{ConnectionsTotal:N0} TCP {(ConnectionsTotal == 1 ? "socket exists" : "sockets exist")} in all ({TimeWaitTotal:N0} in TIME_WAIT) for {EphemeralPortCount:N0} ephemeral ports ({range})")
            : string.Create(culture, $"{ConnectionsTotal:N0} of {EphemeralPortCount:N0} ephemeral ports ({range}) in use, {TimeWaitTotal:N0} in TIME_WAIT");
    }

    internal static string Describe(IPEndPoint endPoint)
    {
        var anyAddress = endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any);
        return (anyAddress, endPoint.Port == 0) switch
        {
            (true, false) => string.Create(CultureInfo.InvariantCulture, $"port {endPoint.Port} (any address)"),
            (false, true) => string.Create(CultureInfo.InvariantCulture, $"{endPoint.Address} (any port)"),
            _ => endPoint.ToString(),
        };
    }
}

using System.Globalization;
using System.Net;

using SafeSql.Diagnostics;

namespace SafeSql.Tool.Doctor;

internal sealed partial class DoctorRunner
{
    private const string PortsWhy =
        "Every new TCP connection to the server takes a local ephemeral port, which stays in TIME_WAIT after the client closes it " +
        "(2 MSL, RFC 9293; 60 s on Linux, TCP_TIMEWAIT_LEN in include/net/tcp.h). When the range towards one server is used up, " +
        "connect fails with EADDRNOTAVAIL: SqlClient error 10049, SafeSql SocketExhaustion.";

    private const string PortsFix =
        "Keep pooling on and dispose connections (a pooled open reuses a connection, not a port); find what opens unpooled " +
        "connections to this server (ss -tan state time-wait dst <server>); widen net.ipv4.ip_local_port_range.";

    /// <summary>
    /// The client's TCP figures towards the server, read before the doctor opens a socket of its own (SafeSqlTcpProbe: /proc on
    /// Linux, IPGlobalProperties elsewhere). Ports towards one server are what run out: on Linux a local port can serve
    /// several destinations, so only the sockets towards this server count against the range.
    /// </summary>
    private void CheckClientOs()
    {
        var towards = _endPoint ?? new IPEndPoint(IPAddress.Any, _source.Port);
        var snapshot = SafeSqlTcpProbe.Capture(towards);
        var range = $"{snapshot.EphemeralPortRangeStart}-{snapshot.EphemeralPortRangeEnd}";
        var count = snapshot.EphemeralPortCount;
        var inUse = snapshot.PortsInUse;
        var timeWait = snapshot.TimeWaitTowardsEndPoint ?? snapshot.TimeWaitTotal;
        var free = Math.Max(0, count - inUse);
        var (hold, holdSource) = TimeWaitHold(snapshot, towards.Address);
        var rate = count / hold.TotalSeconds;
        var pooling = _builder!.Pooling;
        var maxPool = _builder.MaxPoolSize;
        var assumed = snapshot.IsEphemeralPortRangeAssumed ? " (range assumed: the operating system's could not be read)" : string.Empty;
        var rateText = string.Create(CultureInfo.InvariantCulture, $"at most {rate:0.#} new connections/s to this server can be sustained ({count} ports / {hold.TotalSeconds:0} s {holdSource})");

        var status = DoctorStatus.Ok;
        var verdict = string.Empty;
        if (snapshot.IndicatesExhaustion || free == 0)
        {
            status = DoctorStatus.Problem;
            verdict = " The range is nearly used up: new connections fail now.";
        }
        else if (pooling && free < maxPool)
        {
            status = DoctorStatus.Problem;
            verdict = $" Fewer than the {maxPool} connections Max Pool Size lets the pool open at once (a cold start, a failover, ClearPool).";
        }
        else if (inUse * 2 >= count)
        {
            status = DoctorStatus.Warning;
            verdict = " Half the range or more is taken.";
        }

        Add(
            "client",
            "ephemeral-ports",
            status,
            $"{inUse} of {count} ephemeral ports ({range}){assumed} are held towards {towards}, {timeWait} of them in TIME_WAIT; {free} free; {rateText}.{verdict} Machine-wide: {snapshot.ConnectionsTotal} TCP sockets, {snapshot.TimeWaitTotal} in TIME_WAIT (source: {snapshot.Source}).",
            PortsWhy,
            status == DoctorStatus.Ok ? null : PortsFix,
            new()
            {
                ["endPoint"] = towards.ToString(),
                ["rangeStart"] = snapshot.EphemeralPortRangeStart,
                ["rangeEnd"] = snapshot.EphemeralPortRangeEnd,
                ["rangeAssumed"] = snapshot.IsEphemeralPortRangeAssumed,
                ["portCount"] = count,
                ["inUseTowardsServer"] = inUse,
                ["timeWaitTowardsServer"] = timeWait,
                ["free"] = free,
                ["socketsTotal"] = snapshot.ConnectionsTotal,
                ["timeWaitTotal"] = snapshot.TimeWaitTotal,
                ["timeWaitSeconds"] = hold.TotalSeconds,
                ["sustainableConnectionsPerSecond"] = Math.Round(rate, 2),
                ["source"] = snapshot.Source,
            });

        CheckConnectionRate(rate, rateText, count);
        CheckTcpSettings(snapshot);
    }

    /// <summary>
    /// How long a closed connection keeps its port: 60 s on Linux (fixed; tcp_fin_timeout is FIN_WAIT2's, not TIME_WAIT's),
    /// unless tcp_tw_reuse lets a new outgoing connection take a TIME_WAIT port after 1 s (1: always; 2, the kernel's
    /// default: loopback only). Windows keeps TIME_WAIT for TcpTimedWaitDelay, 120 s by default; macOS for 2 MSL, 30 s.
    /// </summary>
    private static (TimeSpan Hold, string Source) TimeWaitHold(SafeSqlTcpSnapshot snapshot, IPAddress server)
    {
        if (OperatingSystem.IsLinux())
        {
            var reuses = snapshot.TcpTimeWaitReuse == 1 || (snapshot.TcpTimeWaitReuse == 2 && IPAddress.IsLoopback(server));
            return reuses
                ? (TimeSpan.FromSeconds(1), $"before a TIME_WAIT port is reused, tcp_tw_reuse={snapshot.TcpTimeWaitReuse}")
                : (TimeSpan.FromSeconds(60), "in TIME_WAIT");
        }

        return OperatingSystem.IsWindows()
            ? (TimeSpan.FromSeconds(120), "in TIME_WAIT, Windows' default TcpTimedWaitDelay")
            : (TimeSpan.FromSeconds(30), "in TIME_WAIT, 2 MSL as macOS and BSD keep it");
    }

    /// <summary>The sustainable rate of new connections against what the pool settings make the application open.</summary>
    private void CheckConnectionRate(double rate, string rateText, int portCount)
    {
        var maxPool = _builder!.MaxPoolSize;
        var lifetime = _builder.LoadBalanceTimeout; // Connection Lifetime, seconds
        DoctorStatus status;
        string summary;
        double? demand = null;
        if (!_builder.Pooling)
        {
            status = DoctorStatus.Warning;
            summary = $"Pooling=false: every open is a new TCP connection and a port in TIME_WAIT afterwards, so the application must open fewer than {rate:0.#} connections/s to this server.";
        }
        else if (maxPool > portCount)
        {
            status = DoctorStatus.Problem;
            summary = $"Max Pool Size={maxPool} is more than the {portCount} ephemeral ports: a full pool cannot be opened from this machine.";
        }
        else if (lifetime > 0)
        {
            demand = (double)maxPool / lifetime;
            status = demand > rate ? DoctorStatus.Warning : DoctorStatus.Ok;
            summary = string.Create(CultureInfo.InvariantCulture, $"Connection Lifetime={lifetime} s renews a full pool (Max Pool Size={maxPool}) at up to {demand:0.##} new connections/s; {rateText}.");
        }
        else
        {
            status = DoctorStatus.Ok;
            summary = string.Create(CultureInfo.InvariantCulture, $"A pooled application opens new connections only to grow the pool (up to Max Pool Size={maxPool}) or after a failure; {rateText}, so refilling a full pool takes {maxPool / rate:0.##} s of that budget.");
        }

        Add(
            "client",
            "connection-rate",
            status,
            summary,
            "Opening connections faster than TIME_WAIT frees ports exhausts the range however large it is; only a pool that keeps its connections escapes it.",
            status == DoctorStatus.Ok ? null : "Keep pooling on, leave Connection Lifetime at 0 outside a load-balanced cluster, and keep Max Pool Size near the concurrency the application needs.",
            new() { ["sustainableConnectionsPerSecond"] = Math.Round(rate, 2), ["poolDemandConnectionsPerSecond"] = demand is { } d ? Math.Round(d, 2) : null, ["pooling"] = _builder.Pooling, ["maxPoolSize"] = maxPool, ["connectionLifetimeSeconds"] = lifetime });
    }

    private void CheckTcpSettings(SafeSqlTcpSnapshot snapshot)
    {
        if (!OperatingSystem.IsLinux())
        {
            Add("client", "tcp-settings", DoctorStatus.Ok, $"tcp_tw_reuse and tcp_fin_timeout are Linux settings; on this system the figures come from {snapshot.Source} and the port range is {(snapshot.IsEphemeralPortRangeAssumed ? "assumed (IANA 49152-65535)" : "read")}.", "On Windows, MaxUserPort and TcpTimedWaitDelay (HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters) play these roles; the doctor does not read the registry.", null);
            return;
        }

        var reuse = snapshot.TcpTimeWaitReuse;
        var reuseText = reuse switch
        {
            0 => "0: TIME_WAIT ports are never reused for new outgoing connections",
            1 => "1: a TIME_WAIT port may be reused for a new outgoing connection after 1 s (TCP timestamps on)",
            2 => "2 (the default): reused only for loopback connections",
            null => "not readable",
            _ => $"{reuse}",
        };
        Add("client", "tcp-tw-reuse", DoctorStatus.Ok, $"net.ipv4.tcp_tw_reuse={reuseText}.", "Linux Documentation/networking/ip-sysctl.rst: with reuse, a closed connection's port comes back after 1 s instead of 60 s; the rate above accounts for it.", null, new() { ["tcpTwReuse"] = reuse });

        var fin = snapshot.TcpFinTimeout;
        Add(
            "client",
            "tcp-fin-timeout",
            DoctorStatus.Ok,
            fin is { } f ? $"net.ipv4.tcp_fin_timeout={f.TotalSeconds:0} s: how long an orphaned socket waits in FIN_WAIT2; it does not shorten TIME_WAIT (fixed at 60 s)." : "net.ipv4.tcp_fin_timeout is not readable.",
            "Lowering tcp_fin_timeout is a common but ineffective fix for port exhaustion (Linux ip-sysctl.rst: tcp_fin_timeout applies to FIN_WAIT_2).",
            null,
            new() { ["tcpFinTimeoutSeconds"] = fin?.TotalSeconds });
    }
}

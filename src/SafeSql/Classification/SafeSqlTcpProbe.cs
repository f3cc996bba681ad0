using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace SafeSql;

/// <summary>
/// Reads TCP facts from the operating system to corroborate (or rule out) ephemeral port exhaustion: the ephemeral
/// port range, the sockets and TIME_WAIT sockets towards an endpoint, <c>tcp_fin_timeout</c>, <c>somaxconn</c> and
/// <c>tcp_tw_reuse</c>.
/// </summary>
/// <remarks>
/// <para>
/// Linux: <c>/proc/net/tcp</c>, <c>/proc/net/tcp6</c>, <c>/proc/sys/net/ipv4/ip_local_port_range</c>,
/// <c>ip_local_reserved_ports</c>, <c>tcp_fin_timeout</c>, <c>tcp_tw_reuse</c> and <c>/proc/sys/net/core/somaxconn</c>
/// (the figures of the caller's network namespace). Elsewhere: <see cref="IPGlobalProperties.GetActiveTcpConnections"/>
/// and the IANA dynamic range 49152-65535 (Windows' default; learn.microsoft.com "Troubleshoot port exhaustion issues").
/// </para>
/// <para>
/// Reading <c>/proc/net/tcp</c> makes the kernel walk its whole connection hash table (about 15 ms measured here with 700
/// sockets, more with tens of thousands), so SafeSql probes only on the failure path, only when a failure may be exhaustion,
/// and first reads the totals of <c>/proc/net/sockstat</c>; it never runs on successful opens.
/// </para>
/// </remarks>
public static class SafeSqlTcpProbe
{
    /// <summary>The ephemeral range assumed where the operating system's cannot be read: the IANA dynamic range, 49152-65535.</summary>
    private const int AssumedRangeStart = 49152;
    private const int AssumedRangeEnd = 65535;

    private const string ProcNetTcp = "/proc/net/tcp";

    /// <summary>Reads the TCP facts now, counting the sockets towards <paramref name="remoteEndPoint"/>.</summary>
    /// <param name="remoteEndPoint">
    /// The server's endpoint, or <see langword="null"/> to count totals only. Use <see cref="IPAddress.Any"/> as the address
    /// to count every address on that port, or port 0 to count every port of that address.
    /// </param>
    /// <returns>A snapshot of the figures. Never throws for an unreadable source: the missing figures are reported as unknown or zero.</returns>
    public static SafeSqlTcpSnapshot Capture(IPEndPoint? remoteEndPoint = null) =>
        OperatingSystem.IsLinux() && File.Exists(ProcNetTcp)
            ? CaptureLinux(remoteEndPoint, "/proc")
            : CaptureFromIPGlobalProperties(remoteEndPoint);

    /// <summary>
    /// The probe the classifier uses: on Linux it first reads the machine-wide totals from <c>/proc/net/sockstat</c> and
    /// <c>sockstat6</c> (a few lines, microseconds). Only when those totals could fill 90 % of the ephemeral range does it walk
    /// <c>/proc/net/tcp</c> and <c>tcp6</c> (milliseconds: the kernel walks its whole connection hash table) for the counts
    /// towards <paramref name="remoteEndPoint"/>. Otherwise the snapshot holds the totals only, which already rule exhaustion out.
    /// </summary>
    internal static SafeSqlTcpSnapshot CaptureForClassification(IPEndPoint? remoteEndPoint) =>
        OperatingSystem.IsLinux() && File.Exists(ProcNetTcp)
            ? CaptureLinuxForClassification(remoteEndPoint, "/proc")
            : CaptureFromIPGlobalProperties(remoteEndPoint);

    /// <summary>Linux, cheap first: the sockstat totals decide whether the per-endpoint walk is worth it.</summary>
    internal static SafeSqlTcpSnapshot CaptureLinuxForClassification(IPEndPoint? remoteEndPoint, string procRoot)
    {
        var settings = ReadLinuxSettings(procRoot);
        if (TryReadSockstat(procRoot, out var inUse, out var timeWait) && inUse + timeWait < settings.PortCount * SafeSqlTcpSnapshot.ExhaustionThreshold)
        {
            return settings.ToSnapshot(remoteEndPoint, connectionsTowardsEndPoint: null, timeWaitTowardsEndPoint: null, inUse + timeWait, timeWait, procRoot + "/net/sockstat");
        }

        return CaptureLinux(remoteEndPoint, procRoot, settings);
    }

    /// <summary>
    /// Reads "TCP: inuse N orphan O tw T alloc A mem M" (<c>/proc/net/sockstat</c>) and "TCP6: inuse N" (<c>sockstat6</c>):
    /// the TCP sockets in use (LISTEN included, an upper bound) and in TIME_WAIT, for IPv4 and IPv6 together.
    /// </summary>
    internal static bool TryReadSockstat(string procRoot, out int inUse, out int timeWait)
    {
        inUse = 0;
        timeWait = 0;
        var v4 = TryReadText(procRoot + "/net/sockstat");
        if (v4 is null || !TryReadField(v4, "TCP:", "inuse", out var inUse4) || !TryReadField(v4, "TCP:", "tw", out timeWait))
        {
            return false;
        }

        var v6 = TryReadText(procRoot + "/net/sockstat6");
        inUse = inUse4 + (v6 is not null && TryReadField(v6, "TCP6:", "inuse", out var inUse6) ? inUse6 : 0);
        return true;
    }

    private static bool TryReadField(string text, string linePrefix, string field, out int value)
    {
        value = 0;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(linePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            for (var i = 1; i + 1 < parts.Length; i++)
            {
                if (parts[i] == field)
                {
                    return int.TryParse(parts[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out value);
                }
            }
        }

        return false;
    }

    /// <summary>Linux: reads the files under <paramref name="procRoot"/> (<c>/proc</c>, or a copy for tests).</summary>
    internal static SafeSqlTcpSnapshot CaptureLinux(IPEndPoint? remoteEndPoint, string procRoot) =>
        CaptureLinux(remoteEndPoint, procRoot, ReadLinuxSettings(procRoot));

    private static SafeSqlTcpSnapshot CaptureLinux(IPEndPoint? remoteEndPoint, string procRoot, LinuxSettings settings)
    {
        var counts = default(OsTcpProcParser.Counts);
        var port = remoteEndPoint?.Port ?? -1;
        var address = remoteEndPoint?.Address ?? IPAddress.Any;
        var sources = new List<string>(2);

        // An IPv6 endpoint that is not IPv4-mapped can only appear in tcp6: count tcp for totals only.
        var v4Key = OsTcpProcParser.EncodeAddress(address, forTcp6: false);
        var v4Port = address.AddressFamily == AddressFamily.InterNetworkV6 && v4Key.Length == 0 && !address.Equals(IPAddress.IPv6Any) ? -1 : port;
        if (OsTcpProcParser.TryCountFile(procRoot + "/net/tcp", v4Key, v4Port, ref counts))
        {
            sources.Add(procRoot + "/net/tcp");
        }

        if (OsTcpProcParser.TryCountFile(procRoot + "/net/tcp6", OsTcpProcParser.EncodeAddress(address, forTcp6: true), port, ref counts))
        {
            sources.Add(procRoot + "/net/tcp6");
        }

        return settings.ToSnapshot(
            remoteEndPoint,
            remoteEndPoint is null ? null : counts.ConnectionsTowards,
            remoteEndPoint is null ? null : counts.TimeWaitTowards,
            counts.ConnectionsTotal,
            counts.TimeWaitTotal,
            sources.Count == 0 ? SafeSqlTcpSnapshot.UnavailableSource : string.Join(", ", sources));
    }

    /// <summary>
    /// Reads the Linux settings both capture paths report, once: the ephemeral range (less reserved ports),
    /// <c>tcp_fin_timeout</c>, <c>somaxconn</c> and <c>tcp_tw_reuse</c>.
    /// </summary>
    private static LinuxSettings ReadLinuxSettings(string procRoot)
    {
        var ipv4 = procRoot + "/sys/net/ipv4/";
        var (start, end, assumed) = ReadPortRange(ipv4 + "ip_local_port_range");
        var reserved = CountReservedPorts(TryReadText(ipv4 + "ip_local_reserved_ports"), start, end);
        var finTimeout = TryReadInt(ipv4 + "tcp_fin_timeout");
        return new LinuxSettings(
            start,
            end,
            assumed,
            Math.Max(0, end - start + 1 - reserved),
            finTimeout is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            TryReadInt(procRoot + "/sys/net/core/somaxconn"),
            TryReadInt(ipv4 + "tcp_tw_reuse"));
    }

    /// <summary>Windows, macOS and others: counts through <see cref="IPGlobalProperties"/>; the range is assumed.</summary>
    internal static SafeSqlTcpSnapshot CaptureFromIPGlobalProperties(IPEndPoint? remoteEndPoint)
    {
        int towards = 0, towardsTimeWait = 0, total = 0, totalTimeWait = 0;
        try
        {
            foreach (var connection in IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpConnections())
            {
                if (connection.State == TcpState.Listen)
                {
                    continue;
                }

                total++;
                var timeWait = connection.State == TcpState.TimeWait;
                if (timeWait)
                {
                    totalTimeWait++;
                }

                if (remoteEndPoint is not null && Matches(connection.RemoteEndPoint, remoteEndPoint))
                {
                    towards++;
                    if (timeWait)
                    {
                        towardsTimeWait++;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is NetworkInformationException or PlatformNotSupportedException or IOException or UnauthorizedAccessException)
        {
            // Leave the counts at zero: the snapshot says where they came from.
            return new SafeSqlTcpSnapshot(remoteEndPoint, AssumedRangeStart, AssumedRangeEnd, AssumedRangeEnd - AssumedRangeStart + 1, true, null, null, 0, 0, null, null, null, false, SafeSqlTcpSnapshot.UnavailableSource);
        }

        return new SafeSqlTcpSnapshot(
            remoteEndPoint,
            AssumedRangeStart,
            AssumedRangeEnd,
            AssumedRangeEnd - AssumedRangeStart + 1,
            isEphemeralPortRangeAssumed: true,
            remoteEndPoint is null ? null : towards,
            remoteEndPoint is null ? null : towardsTimeWait,
            total,
            totalTimeWait,
            tcpFinTimeout: null,
            listenBacklogLimit: null,
            tcpTimeWaitReuse: null,
            portsSharedAcrossDestinations: false,
            "IPGlobalProperties");
    }

    /// <summary>
    /// Opens one raw TCP connection to <paramref name="endPoint"/> and reports how it ended, to tell refusal
    /// (<see cref="SocketError.ConnectionRefused"/>) from port exhaustion or an unusable address
    /// (<see cref="SocketError.AddressNotAvailable"/>) from a listener (<see cref="SocketError.Success"/>). A connection that
    /// succeeds is reset at once (linger 0), so it leaves no TIME_WAIT behind.
    /// </summary>
    /// <param name="endPoint">The server.</param>
    /// <param name="timeout">The longest the connect may take (<see cref="SocketError.TimedOut"/> then).</param>
    internal static SocketError DiagnosticConnect(IPEndPoint endPoint, TimeSpan timeout) => DiagnosticConnect(endPoint, timeout, TimeSpan.Zero);

    /// <summary>The asynchronous <see cref="DiagnosticConnect(IPEndPoint, TimeSpan)"/>: accepted is <see cref="SocketError.Success"/>, without a watch for the reset.</summary>
    internal static Task<SocketError> DiagnosticConnectAsync(IPEndPoint endPoint, TimeSpan timeout) => DiagnosticConnectAsync(endPoint, timeout, TimeSpan.Zero);

    /// <summary>
    /// <see cref="DiagnosticConnect(IPEndPoint, TimeSpan)"/>, and an accepted connection watched for <paramref name="resetWatch"/>
    /// for the listener's reset (<see cref="SocketError.ConnectionReset"/>: a full accept queue with <c>tcp_abort_on_overflow=1</c>).
    /// </summary>
    /// <param name="endPoint">The server.</param>
    /// <param name="timeout">The longest the connect may take (<see cref="SocketError.TimedOut"/> then).</param>
    /// <param name="resetWatch">How long an accepted connection is watched for the listener's reset (a server never speaks first in TDS).</param>
    internal static SocketError DiagnosticConnect(IPEndPoint endPoint, TimeSpan timeout, TimeSpan resetWatch)
    {
        // A non-blocking connect polled on this thread: no thread-pool work, so it answers even when the pool is starved.
        // EADDRNOTAVAIL (no free port) fails in connect() itself; ECONNREFUSED arrives as the socket's pending error.
        try
        {
            using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.LingerState = new LingerOption(true, 0);
            socket.Blocking = false;
            try
            {
                socket.Connect(endPoint);
                return WatchForReset(socket, resetWatch);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                // Connecting: wait below.
            }

            if (!socket.Poll(timeout, SelectMode.SelectWrite))
            {
                return SocketError.TimedOut;
            }

            var error = socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error) is int code ? (SocketError)code : SocketError.SocketError;
            return error == SocketError.Success ? WatchForReset(socket, resetWatch) : error;
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode;
        }
    }

    /// <summary>
    /// The asynchronous <see cref="DiagnosticConnect(IPEndPoint, TimeSpan, TimeSpan)"/>: no thread waits while the SYN is out or while the accepted connection
    /// is watched; bounded by <paramref name="timeout"/> (<see cref="SocketError.TimedOut"/> then) plus <paramref name="resetWatch"/>.
    /// </summary>
    internal static async Task<SocketError> DiagnosticConnectAsync(IPEndPoint endPoint, TimeSpan timeout, TimeSpan resetWatch)
    {
        try
        {
            using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.LingerState = new LingerOption(true, 0);
            using (var bound = new CancellationTokenSource(timeout))
            {
                await socket.ConnectAsync(endPoint, bound.Token).ConfigureAwait(false);
            }

            using var watch = new CancellationTokenSource(resetWatch);
            try
            {
                // Data or an orderly close: a listener that is there (a TDS server never speaks first, so nothing comes normally).
                await socket.ReceiveAsync(new byte[1], SocketFlags.None, watch.Token).ConfigureAwait(false);
                return SocketError.Success;
            }
            catch (OperationCanceledException)
            {
                return SocketError.Success;
            }
        }
        catch (OperationCanceledException)
        {
            return SocketError.TimedOut;
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode;
        }
    }

    /// <summary>
    /// Whether the listener resets the accepted connection within <paramref name="watch"/>: <see cref="SocketError.ConnectionReset"/>
    /// if it does, else <see cref="SocketError.Success"/>. Polled on the caller's thread (the socket is non-blocking).
    /// </summary>
    private static SocketError WatchForReset(Socket socket, TimeSpan watch)
    {
        if (watch <= TimeSpan.Zero || !socket.Poll(watch, SelectMode.SelectRead))
        {
            return SocketError.Success;
        }

        try
        {
            socket.Receive(new byte[1], SocketFlags.Peek);
            return SocketError.Success;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return SocketError.ConnectionReset;
        }
        catch (SocketException)
        {
            return SocketError.Success;
        }
    }

    internal static (int Start, int End, bool Assumed) ReadPortRange(string path)
    {
        var text = TryReadText(path);
        if (text is not null)
        {
            var parts = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var end)
                && start <= end)
            {
                return (start, end, false);
            }
        }

        return (AssumedRangeStart, AssumedRangeEnd, true);
    }

    /// <summary>Counts the ports of <c>ip_local_reserved_ports</c> ("8080,9000-9010") that fall inside the range.</summary>
    internal static int CountReservedPorts(string? text, int start, int end)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return 0;
        }

        var count = 0;
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = item.IndexOf('-', StringComparison.Ordinal);
            var lowText = dash < 0 ? item : item[..dash];
            var highText = dash < 0 ? item : item[(dash + 1)..];
            if (int.TryParse(lowText, NumberStyles.None, CultureInfo.InvariantCulture, out var low)
                && int.TryParse(highText, NumberStyles.None, CultureInfo.InvariantCulture, out var high))
            {
                var overlap = Math.Min(high, end) - Math.Max(low, start) + 1;
                count += Math.Max(0, overlap);
            }
        }

        return count;
    }

    private static bool Matches(IPEndPoint actual, IPEndPoint wanted)
    {
        if (wanted.Port != 0 && actual.Port != wanted.Port)
        {
            return false;
        }

        if (wanted.Address.Equals(IPAddress.Any) || wanted.Address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }

        var a = actual.Address.IsIPv4MappedToIPv6 ? actual.Address.MapToIPv4() : actual.Address;
        var w = wanted.Address.IsIPv4MappedToIPv6 ? wanted.Address.MapToIPv4() : wanted.Address;
        return a.Equals(w);
    }

    private static string? TryReadText(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int? TryReadInt(string path) =>
        int.TryParse(TryReadText(path)?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;

    private readonly record struct LinuxSettings(int Start, int End, bool IsRangeAssumed, int PortCount, TimeSpan? FinTimeout, int? ListenBacklogLimit, int? TimeWaitReuse)
    {
        public SafeSqlTcpSnapshot ToSnapshot(IPEndPoint? remoteEndPoint, int? connectionsTowardsEndPoint, int? timeWaitTowardsEndPoint, int connectionsTotal, int timeWaitTotal, string source) =>
            new(
                remoteEndPoint,
                Start,
                End,
                PortCount,
                IsRangeAssumed,
                connectionsTowardsEndPoint,
                timeWaitTowardsEndPoint,
                connectionsTotal,
                timeWaitTotal,
                FinTimeout,
                ListenBacklogLimit,
                TimeWaitReuse,
                portsSharedAcrossDestinations: true,
                source);
    }
}

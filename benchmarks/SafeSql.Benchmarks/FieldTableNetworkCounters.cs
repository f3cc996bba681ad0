using System.Globalization;

namespace SafeSql.Benchmarks;

/// <summary>
/// The kernel's TCP and loopback-interface counters of the current network namespace, read from <c>/proc/net/snmp</c>
/// (<c>Tcp: OutSegs InSegs RetransSegs OutRsts ActiveOpens</c>) and <c>/proc/net/dev</c> (<c>lo</c> transmit packets and bytes).
/// </summary>
/// <remarks>
/// Both files are per network namespace. On loopback the client and the server are in the same namespace, so every segment is
/// counted twice: once in OutSegs by its sender, once in InSegs by its receiver. The number of segments that crossed the
/// "wire" is therefore the OutSegs delta (which excludes retransmissions, counted in RetransSegs), and the InSegs delta must
/// match it. <c>lo</c>'s transmit bytes are whole frames: a 14-byte link header, the IP and TCP headers and the payload.
/// </remarks>
internal sealed record FieldTableNetworkCounters(long OutSegments, long InSegments, long RetransmittedSegments, long OutResets, long ActiveOpens, long LoopbackPackets, long LoopbackBytes)
{
    /// <summary>Gets a value indicating whether the counters can be read here (Linux with /proc).</summary>
    public static bool IsAvailable => File.Exists("/proc/net/snmp") && File.Exists("/proc/net/dev");

    /// <summary>Reads the counters now.</summary>
    public static FieldTableNetworkCounters Read()
    {
        var tcp = ReadSnmpTcp(File.ReadAllLines("/proc/net/snmp"));
        var (packets, bytes) = ReadLoopbackTransmit(File.ReadAllLines("/proc/net/dev"));
        return new FieldTableNetworkCounters(tcp["OutSegs"], tcp["InSegs"], tcp["RetransSegs"], tcp["OutRsts"], tcp["ActiveOpens"], packets, bytes);
    }

    /// <summary>The counts between <paramref name="before"/> and this reading.</summary>
    public FieldTableNetworkCounters Since(FieldTableNetworkCounters before) => new(
        OutSegments - before.OutSegments,
        InSegments - before.InSegments,
        RetransmittedSegments - before.RetransmittedSegments,
        OutResets - before.OutResets,
        ActiveOpens - before.ActiveOpens,
        LoopbackPackets - before.LoopbackPackets,
        LoopbackBytes - before.LoopbackBytes);

    /// <summary>Parses the two <c>Tcp:</c> lines (names, then values) of <c>/proc/net/snmp</c>.</summary>
    internal static Dictionary<string, long> ReadSnmpTcp(IReadOnlyList<string> lines)
    {
        var tcp = lines.Where(l => l.StartsWith("Tcp:", StringComparison.Ordinal)).ToArray();
        if (tcp.Length < 2)
        {
            throw new InvalidDataException("/proc/net/snmp has no 'Tcp:' header and value lines.");
        }

        var names = tcp[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var values = tcp[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 1; i < Math.Min(names.Length, values.Length); i++)
        {
            result[names[i]] = long.Parse(values[i], CultureInfo.InvariantCulture);
        }

        return result;
    }

    /// <summary>Parses the <c>lo:</c> line of <c>/proc/net/dev</c>: 8 receive columns, then transmit bytes and packets.</summary>
    internal static (long Packets, long Bytes) ReadLoopbackTransmit(IReadOnlyList<string> lines)
    {
        foreach (var line in lines)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || line[..colon].Trim() != "lo")
            {
                continue;
            }

            var fields = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return (long.Parse(fields[9], CultureInfo.InvariantCulture), long.Parse(fields[8], CultureInfo.InvariantCulture));
        }

        throw new InvalidDataException("/proc/net/dev has no 'lo' interface.");
    }
}

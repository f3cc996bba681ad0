using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace SafeSql.Testing.Network;

/// <summary>The TCP listen counters of a host (Linux <c>/proc/net/netstat</c>, <c>TcpExt</c> line), counted since its network
/// namespace was created.</summary>
/// <param name="ListenOverflows">Connections turned away because the listener's accept queue was full (<c>LINUX_MIB_LISTENOVERFLOWS</c>):
/// a SYN dropped, or a handshake's last ACK dropped or answered with a reset (<c>tcp_abort_on_overflow=1</c>).</param>
/// <param name="ListenDrops">Every SYN or ACK a listener dropped, the overflows included (<c>LINUX_MIB_LISTENDROPS</c>).</param>
public sealed record WebFarmListenCounters(long ListenOverflows, long ListenDrops)
{
    /// <summary>Reads the counters from the text of <c>/proc/net/netstat</c> (a <c>TcpExt:</c> line of names, then one of values).</summary>
    /// <param name="netstat">The file's text.</param>
    /// <param name="counters">The counters read; <see langword="null"/> when the text has none.</param>
    /// <returns><see langword="true"/> when both counters were found.</returns>
    public static bool TryParse(string? netstat, [NotNullWhen(true)] out WebFarmListenCounters? counters)
    {
        counters = null;
        if (netstat is null)
        {
            return false;
        }

        var lines = netstat.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i + 1 < lines.Length; i++)
        {
            if (!lines[i].StartsWith("TcpExt:", StringComparison.Ordinal) || !lines[i + 1].StartsWith("TcpExt:", StringComparison.Ordinal))
            {
                continue;
            }

            var names = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var overflows = Array.IndexOf(names, "ListenOverflows");
            var drops = Array.IndexOf(names, "ListenDrops");
            if (overflows <= 0 || drops <= 0 || names.Length != values.Length)
            {
                return false;
            }

            counters = new WebFarmListenCounters(
                long.Parse(values[overflows], NumberStyles.None, CultureInfo.InvariantCulture),
                long.Parse(values[drops], NumberStyles.None, CultureInfo.InvariantCulture));
            return true;
        }

        return false;
    }
}

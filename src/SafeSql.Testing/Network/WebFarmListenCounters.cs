using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace SafeSql.Testing.Network;

/// <summary>The TCP listen counters of a host (Linux <c>/proc/net/netstat</c>, <c>TcpExt</c> lines, and <c>/proc/net/snmp</c>,
/// <c>Tcp</c> lines), counted since its network namespace was created.</summary>
/// <param name="ListenOverflows">Connections turned away because the listener's accept queue was full (<c>LINUX_MIB_LISTENOVERFLOWS</c>):
/// a SYN dropped, or a handshake's last ACK dropped or answered with a reset (<c>tcp_abort_on_overflow=1</c>).</param>
/// <param name="ListenDrops">Every SYN or ACK a listener dropped, the overflows included (<c>LINUX_MIB_LISTENDROPS</c>).</param>
/// <param name="ResetsSent">Every reset (RST) the host sent (<c>Tcp OutRsts</c>): the overflow resets of
/// <c>tcp_abort_on_overflow=1</c>, the refusals of a port nothing listens on, and aborted connections.</param>
[Experimental(NetworkLabDiagnostics.ExperimentalId, UrlFormat = NetworkLabDiagnostics.ExperimentalUrl)]
public sealed record WebFarmListenCounters(long ListenOverflows, long ListenDrops, long ResetsSent)
{
    /// <summary>Reads the counters from the text of <c>/proc/net/netstat</c> followed by <c>/proc/net/snmp</c> (each a line
    /// of names, then one of values, starting <c>TcpExt:</c> and <c>Tcp:</c>).</summary>
    /// <param name="netstat">The files' text.</param>
    /// <param name="counters">The counters read; <see langword="null"/> when the text lacks one of them.</param>
    /// <returns><see langword="true"/> when the three counters were found.</returns>
    public static bool TryParse(string? netstat, [NotNullWhen(true)] out WebFarmListenCounters? counters)
    {
        counters = null;
        if (netstat is null)
        {
            return false;
        }

        var lines = netstat.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var overflows = Find(lines, "TcpExt:", "ListenOverflows");
        var drops = Find(lines, "TcpExt:", "ListenDrops");
        var resets = Find(lines, "Tcp:", "OutRsts");
        if (overflows is null || drops is null || resets is null)
        {
            return false;
        }

        counters = new WebFarmListenCounters(overflows.Value, drops.Value, resets.Value);
        return true;
    }

    private static long? Find(string[] lines, string prefix, string name)
    {
        for (var i = 0; i + 1 < lines.Length; i++)
        {
            if (!lines[i].StartsWith(prefix + " ", StringComparison.Ordinal) || !lines[i + 1].StartsWith(prefix + " ", StringComparison.Ordinal))
            {
                continue;
            }

            var names = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var index = Array.IndexOf(names, name);
            if (index > 0 && names.Length == values.Length && long.TryParse(values[index], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return null;
    }
}

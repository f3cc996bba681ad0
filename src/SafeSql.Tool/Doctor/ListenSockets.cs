using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

namespace SafeSql.Tool.Doctor;

/// <summary>A listening TCP socket: its accept queue now and the backlog it was given (capped by somaxconn).</summary>
/// <param name="LocalAddress">The address it listens on, as printed by the source.</param>
/// <param name="Queue">Connections completed by the kernel and not yet accepted by the server.</param>
/// <param name="Backlog">The accept queue's limit; <see langword="null"/> when only /proc/net/tcp could be read (it does not show it).</param>
/// <param name="Source">Where the figures come from.</param>
internal sealed record ListenSocket(string LocalAddress, int Queue, int? Backlog, string Source);

/// <summary>
/// Reads listening sockets and the kernel's listen-queue counters on Linux. The backlog limit is only published through
/// sock_diag, which <c>ss</c> (iproute2) reads: <c>ss -ltn</c> shows it as Send-Q of a LISTEN socket, the queue as Recv-Q.
/// Without <c>ss</c>, <c>/proc/net/tcp</c> gives the queue (rx_queue of a LISTEN line is sk_ack_backlog, net/ipv4/tcp_ipv4.c
/// get_tcp4_sock) but not the limit.
/// </summary>
internal static class ListenSockets
{
    private const string ListenState = "0A";

    /// <summary>Finds the sockets listening on <paramref name="port"/> in this network namespace.</summary>
    public static IReadOnlyList<ListenSocket> Find(int port)
    {
        var fromSs = TryReadSs(port);
        return fromSs ?? ReadProc(port);
    }

    /// <summary>ListenOverflows and ListenDrops from the TcpExt lines of /proc/net/netstat (since boot, whole namespace).</summary>
    public static (long? Overflows, long? Drops) ReadCounters(string path = "/proc/net/netstat")
    {
        try
        {
            var lines = File.ReadAllLines(path).Where(l => l.StartsWith("TcpExt:", StringComparison.Ordinal)).ToArray();
            if (lines.Length < 2)
            {
                return (null, null);
            }

            var names = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long? Value(string name)
            {
                var i = Array.IndexOf(names, name);
                return i > 0 && i < values.Length && long.TryParse(values[i], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
            }

            return (Value("ListenOverflows"), Value("ListenDrops"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, null);
        }
    }

    private static List<ListenSocket>? TryReadSs(int port)
    {
        try
        {
            var startInfo = new ProcessStartInfo("ss") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in new[] { "-H", "-l", "-t", "-n", "sport", "=", ":" + port.ToString(CultureInfo.InvariantCulture) })
            {
                startInfo.ArgumentList.Add(argument);
            }

            using var process = Process.Start(startInfo)!;
            _ = process.StandardError.ReadToEndAsync(); // drained, so ss never blocks on a full pipe
            var output = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(5000) || process.ExitCode != 0)
            {
                return null;
            }

            var sockets = new List<ListenSocket>();
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                // State Recv-Q Send-Q Local:Port Peer:Port
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 4
                    && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var queue)
                    && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var backlog))
                {
                    sockets.Add(new ListenSocket(parts[3], queue, backlog, "ss -ltn"));
                }
            }

            return sockets;
        }
        catch (Win32Exception)
        {
            return null; // ss is not installed
        }
    }

    private static List<ListenSocket> ReadProc(int port)
    {
        var sockets = new List<ListenSocket>();
        var portText = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        foreach (var path in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var line in lines.Skip(1))
            {
                // sl local_address rem_address st tx_queue:rx_queue ...
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 5 || parts[3] != ListenState || !parts[1].EndsWith(portText, StringComparison.Ordinal))
                {
                    continue;
                }

                var queues = parts[4].Split(':');
                if (queues.Length == 2 && int.TryParse(queues[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var queue))
                {
                    sockets.Add(new ListenSocket(parts[1], queue, null, path));
                }
            }
        }

        return sockets;
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;

using Microsoft.Data.SqlClient;

using SafeSql.Diagnostics;
using SafeSql.Testing.Network;

namespace SafeSql.Benchmarks;

/// <summary>
/// <c>field-table</c>: the field's measurement reproduced. N sequential open + close (default 20,000) with raw pooled
/// SqlClient, through SafeSql, and with <c>Pooling=false</c>, each against a fresh loopback server, counting TCP connections and
/// logins (server counters), TDS bytes (server counters), TCP segments and wire bytes (kernel counters), and the TIME_WAIT
/// sockets left behind. Prints a markdown table. This is a measurement, not a timing benchmark.
/// </summary>
/// <remarks>
/// <para>
/// As root on Linux the command re-runs itself in a private network namespace (<c>unshare -n</c>, through
/// <see cref="PrivateNetworkNamespace"/>, with the kernel's default port range and <c>tcp_tw_reuse</c>), where only this program's
/// traffic exists, so the kernel's per-namespace counters count exactly its segments. Elsewhere (or with
/// <c>--host-namespace</c>) it runs in the host's namespace and says that the segment counts include other traffic.
/// </para>
/// <para>
/// Usage: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- field-table [--opens N] [--output FILE]
/// [--host-namespace]</c>.
/// </para>
/// </remarks>
internal static class FieldTableCommand
{
    public const string Name = "field-table";

    private const string InNamespaceFlag = "--in-namespace";
    private const int DefaultOpens = 20_000;
    private const int MaxOpens = 50_000;

    // The field's figures: 20,000 opens and closes.
    private const long FieldPooledPackets = 160;
    private const long FieldPooledBytes = 23_520;
    private const long FieldUnpooledPackets = 225_129;
    private const long FieldUnpooledBytes = 27_209_622;

    public static async Task<int> RunAsync(string[] args)
    {
        int opens = DefaultOpens;
        string? output = null;
        var hostNamespace = false;
        var inNamespace = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--opens" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out opens) && opens is >= 1 and <= MaxOpens:
                    i++;
                    break;
                case "--output" when i + 1 < args.Length:
                    output = Path.GetFullPath(args[++i]);
                    break;
                case "--host-namespace":
                    hostNamespace = true;
                    break;
                case InNamespaceFlag:
                    inNamespace = true;
                    break;
                case "--opens":
                    await Console.Error.WriteLineAsync(
                        $"field-table: --opens needs a count from 1 to {MaxOpens:N0}; got '{(i + 1 < args.Length ? args[i + 1] : "nothing")}'. Usage: field-table [--opens N] [--output FILE] [--host-namespace]");
                    return 2;
                default:
                    await Console.Error.WriteLineAsync(
                        $"field-table: unknown argument '{args[i]}'. Usage: field-table [--opens 1..{MaxOpens}] [--output FILE] [--host-namespace]");
                    return 2;
            }
        }

        if (!inNamespace && !hostNamespace && PrivateNetworkNamespace.IsSupported)
        {
            return await RunInPrivateNamespaceAsync(args);
        }

        // JIT and first-use costs (SqlClient, the server, SafeSql) are paid here, outside every measured window.
        WarmUp();

        var note = inNamespace
            ? "in a private network namespace (`unshare -n`): the kernel counters saw only this program's traffic"
            : $"in the host's network namespace ({(hostNamespace ? "--host-namespace" : PrivateNetworkNamespace.UnsupportedReason)}): segment and wire-byte counts include any other TCP traffic on this machine during the run, so they are upper bounds";
        var rows = new List<FieldTableRow>
        {
            Measure("Raw SqlClient, pooled (default)", opens, static environment =>
            {
                var connectionString = environment.Pooled;
                return () =>
                {
                    using var connection = new SqlConnection(connectionString);
                    connection.Open();
                };
            }),
            Measure("SafeSql, pooled (SqlConnectionStackCaptureMode.CallSite)", opens, static environment =>
            {
                var factory = environment.CreateFactory();
                return () =>
                {
                    using var connection = factory.OpenConnection();
                };
            }),
            Measure("Raw SqlClient, Pooling=false", opens, static environment =>
            {
                var connectionString = environment.Unpooled;
                return () =>
                {
                    using var connection = new SqlConnection(connectionString);
                    connection.Open();
                };
            }),
        };

        var markdown = Render(rows, opens, note, [Name, .. args.Where(a => a != InNamespaceFlag)]);
        Console.WriteLine(markdown);
        if (output is not null)
        {
            await File.WriteAllTextAsync(output, markdown);
        }

        return 0;
    }

    private static async Task<int> RunInPrivateNamespaceAsync(string[] args)
    {
        // The same arguments, so the table shows the command as typed (the child inherits the working directory), and the marker.
        string[] arguments = [Name, .. args, InNamespaceFlag];
        var result = await PrivateNetworkNamespace.RunDotNetAsync(
            typeof(FieldTableCommand).Assembly.Location,
            arguments,
            new PrivateNetworkNamespaceOptions
            {
                // The kernel's defaults, as on the host: this run measures traffic, it does not provoke port exhaustion.
                EphemeralPortRangeStart = 32768,
                EphemeralPortRangeEnd = 60999,
                TcpTimeWaitReuse = 2,
                Timeout = TimeSpan.FromMinutes(20),
            });
        Console.Write(result.StandardOutput);
        await Console.Error.WriteAsync(result.StandardError);
        if (result.TimedOut)
        {
            await Console.Error.WriteLineAsync("field-table: the run in the private network namespace timed out after 20 minutes.");
        }

        return result.ExitCode;
    }

    private static void WarmUp()
    {
        using var environment = LoopbackBenchmarkEnvironment.Start("SafeSql.FieldTable.WarmUp");
        var factory = environment.CreateFactory();

        // Enough pooled opens for the JIT's tiering to reach optimized code; a few unpooled ones for the login path.
        for (var i = 0; i < 2_000; i++)
        {
            using (new SqlConnection(environment.Pooled).WithOpen())
            {
            }

            using (factory.OpenConnection())
            {
            }

            if (i % 40 == 0)
            {
                using (new SqlConnection(environment.Unpooled).WithOpen())
                {
                }
            }
        }
    }

    private static SqlConnection WithOpen(this SqlConnection connection)
    {
        connection.Open();
        return connection;
    }

    private static FieldTableRow Measure(string name, int opens, Func<LoopbackBenchmarkEnvironment, Action> createOpenClose)
    {
        using var environment = LoopbackBenchmarkEnvironment.Start("SafeSql.FieldTable");
        var openClose = createOpenClose(environment);
        var counters = FieldTableNetworkCounters.IsAvailable;
        var before = counters ? FieldTableNetworkCounters.Read() : null;
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < opens; i++)
        {
            openClose();
        }

        var elapsed = Stopwatch.GetElapsedTime(started);

        // Let the last close's FIN/ACK exchange and the server's bookkeeping finish before reading the counters.
        Thread.Sleep(TimeSpan.FromMilliseconds(500));
        var network = counters ? FieldTableNetworkCounters.Read().Since(before!) : null;
        var server = environment.Server.Counters;
        var timeWait = SafeSqlTcpProbe.Capture(environment.Server.EndPoint).TimeWaitTowardsEndPoint;
        return new FieldTableRow(name, opens, elapsed, server.TcpConnectionsAccepted, server.Logins, server.BytesReceived, server.BytesSent, network, timeWait);
    }

    private static string Render(IReadOnlyList<FieldTableRow> rows, int opens, string note, string[] args)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(c, $"### {opens:N0} sequential opens + closes (the field's table)");
        text.AppendLine();
        text.AppendLine(c, $"Measured {TimeProvider.System.GetUtcNow():yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores, .NET {Environment.Version}, Microsoft.Data.SqlClient {SqlClientVersion()}, against the in-process loopback server, {note}.");
        text.AppendLine(c, $"Command: `dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- {string.Join(' ', args)}`");
        text.AppendLine();
        text.AppendLine("| Run | TCP connections | Logins | TCP segments | Segments / open | Wire bytes (lo) | TDS bytes in / out | TIME_WAIT after | Time | Opens/s |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            text.AppendLine(c, $"| {row.Name} | {row.TcpConnections:N0} | {row.Logins:N0} | {Count(row.Network?.OutSegments)} | {PerOpen(row.Network?.OutSegments, row.Opens)} | {Count(row.Network?.LoopbackBytes)} | {row.TdsBytesReceived:N0} / {row.TdsBytesSent:N0} | {Count(row.TimeWait)} | {row.Elapsed.TotalSeconds:0.00} s | {row.Opens / row.Elapsed.TotalSeconds:N0} |");
        }

        text.AppendLine(c, $"| *Field, pooled (20,000 opens)* | | | *{FieldPooledPackets:N0} packets* | *{FieldPooledPackets / 20_000.0:0.###}* | *{FieldPooledBytes:N0}* | | | | |");
        text.AppendLine(c, $"| *Field, Pooling=false (20,000 opens)* | | | *{FieldUnpooledPackets:N0} packets* | *{FieldUnpooledPackets / 20_000.0:0.##}* | *{FieldUnpooledBytes:N0}* | | | | |");
        text.AppendLine();

        var pooled = rows[0];
        var unpooled = rows[^1];
        text.AppendLine(c, $"Pooling=false vs pooled: {Ratio(unpooled.TcpConnections, pooled.TcpConnections)} the TCP connections, {Ratio(unpooled.Network?.OutSegments, pooled.Network?.OutSegments)} the segments, {Ratio(unpooled.Network?.LoopbackBytes, pooled.Network?.LoopbackBytes)} the wire bytes; the field saw {Ratio(FieldUnpooledPackets, FieldPooledPackets)} the packets and {Ratio(FieldUnpooledBytes, FieldPooledBytes)} the bytes.");
        if (rows.Any(r => r.Network is { } n && (n.RetransmittedSegments != 0 || Math.Abs(n.InSegments - n.OutSegments) > n.OutSegments / 100)))
        {
            text.AppendLine();
            text.AppendLine("Check: some run retransmitted segments or its InSegs and OutSegs deltas differ by more than 1 %; see the detail below.");
        }

        text.AppendLine();
        text.AppendLine("How counted: *TCP connections* and *Logins* are the loopback server's accept and LOGIN7 counters; *TDS bytes* its payload bytes received / sent (no TCP/IP headers).");
        text.AppendLine("*TCP segments* is the delta of `/proc/net/snmp` `Tcp: OutSegs` around the loop (plus 0.5 s for the last teardown): client and server share the namespace, so each segment is counted once by its sender in OutSegs and once more by its receiver in InSegs; OutSegs alone is the number of segments on the wire, what a capture on one NIC would count as packets (retransmissions excluded; detail below).");
        text.AppendLine("*Wire bytes* is the delta of the `lo` interface's transmit bytes in `/proc/net/dev`: whole frames (14-byte link header + IP + TCP headers + payload). *TIME_WAIT after* counts sockets towards the server's port in `/proc/net/tcp` (SafeSql's `SafeSqlTcpProbe`), 0.5 s after the last close.");
        text.AppendLine("*Time* and *Opens/s* are wall clock for the loop, after a warm-up outside the counted window; they are not a timing benchmark (see the BenchmarkDotNet rows for that).");
        text.AppendLine("Pooled opens send nothing: SqlClient marks the pooled connection for reset and sends RESETCONNECTION with the next command, and these loops send none; the pooled rows are the one connection's handshake, PRELOGIN and LOGIN7.");
        text.AppendLine();
        text.AppendLine("| Run | OutSegs | InSegs | RetransSegs | OutRsts | ActiveOpens | lo packets |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            var n = row.Network;
            text.AppendLine(c, $"| {row.Name} | {Count(n?.OutSegments)} | {Count(n?.InSegments)} | {Count(n?.RetransmittedSegments)} | {Count(n?.OutResets)} | {Count(n?.ActiveOpens)} | {Count(n?.LoopbackPackets)} |");
        }

        return text.ToString();

        string Count(long? value) => value is { } v ? v.ToString("N0", c) : "n/a";

        string PerOpen(long? value, int count) => value is { } v ? (v / (double)count).ToString("0.###", c) : "n/a";

        string Ratio(long? numerator, long? denominator) =>
            numerator is { } n && denominator is { } d && d > 0 ? (n / (double)d).ToString("N0", c) + "x" : "n/a";
    }

    private static string SqlClientVersion()
    {
        var version = typeof(SqlConnection).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }

    private sealed record FieldTableRow(
        string Name,
        int Opens,
        TimeSpan Elapsed,
        long TcpConnections,
        long Logins,
        long TdsBytesReceived,
        long TdsBytesSent,
        FieldTableNetworkCounters? Network,
        int? TimeWait);
}

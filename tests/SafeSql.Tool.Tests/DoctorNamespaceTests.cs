using System.Globalization;

using SafeSql.Testing.Network;

namespace SafeSql.Tool.Tests;

/// <summary>
/// <c>safesql doctor</c> in a private network namespace (<c>unshare -n</c>: 50 ephemeral ports, tcp_tw_reuse=0) where the
/// tool's own <c>serve</c> listens on 127.0.0.1:1433 and 40 closed connections towards it sit in TIME_WAIT. The report's
/// figures are compared with the namespace's real state (/proc/net/tcp read just before the doctor runs). Needs root
/// (CI runs as root); skipped with the reason otherwise. The namespace, its server and its sockets end with the script.
/// </summary>
public sealed class DoctorNamespaceTests
{
    private const int TimeWaitSockets = 40;
    private const string Secret = "Sup3r-Secret-16";

    // bash: /dev/tcp opens a connection; closing it first leaves the client's side in TIME_WAIT once the server closes.
    private const string Script = """
        set -u
        dotnet="$1"; tool="$2"; dir="$3"; count="$4"; secret="$5"
        "$dotnet" "$tool" serve --port 1433 > "$dir/serve.out" 2> "$dir/serve.err" &
        serve=$!
        trap 'kill -TERM $serve 2>/dev/null; wait $serve 2>/dev/null' EXIT
        for i in $(seq 1 600); do grep -q '^  SqlClient: ' "$dir/serve.out" 2>/dev/null && break; sleep 0.1; done
        cs=$(sed -n 's/^  SqlClient: //p' "$dir/serve.out" | sed "s/Password=<any>/Password=$secret/")
        [ -n "$cs" ] || { echo "serve did not start" >&2; cat "$dir/serve.err" >&2; exit 90; }
        for i in $(seq 1 "$count"); do exec 3<>/dev/tcp/127.0.0.1/1433 && exec 3<&- 3>&-; done
        sleep 1
        cat /proc/net/tcp > "$dir/tcp.before"
        cat /proc/sys/net/ipv4/ip_local_port_range > "$dir/range"
        "$dotnet" "$tool" doctor "$cs" --json > "$dir/doctor.json" 2> "$dir/doctor.err"
        echo $? > "$dir/doctor.rc"
        exit 0
        """;

    [SkippableFact]
    public async Task Doctor_TimeWaitTowardsServerInPrivateNamespace_ProblemNamesCountRangeAndRate()
    {
        Skip.IfNot(PrivateNetworkNamespace.IsSupported, PrivateNetworkNamespace.UnsupportedReason);

        // Arrange / Act
        var directory = Directory.CreateTempSubdirectory("safesql-doctor-netns-");
        try
        {
            var result = await PrivateNetworkNamespace.RunAsync(
                "/bin/bash",
                ["-c", Script, "bash", DotNetHost(), ToolProcess.AssemblyPath, directory.FullName, TimeWaitSockets.ToString(CultureInfo.InvariantCulture), Secret],
                new PrivateNetworkNamespaceOptions { EphemeralPortRangeStart = 40000, EphemeralPortRangeEnd = 40049, TcpTimeWaitReuse = 0 });
            string Read(string name) => File.ReadAllText(Path.Combine(directory.FullName, name));
            Assert.True(result.ExitCode == 0 && !result.TimedOut, $"the script exited with {result.ExitCode} (timed out: {result.TimedOut}): {result.StandardError}");

            // The namespace's real state: the sockets towards 127.0.0.1:1433 (0100007F:0599 in /proc/net/tcp).
            var towards = File.ReadLines(Path.Combine(directory.FullName, "tcp.before"))
                .Skip(1)
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(parts => parts[2] == "0100007F:0599" && parts[3] != "0A")
                .ToList();
            var timeWait = towards.Count(parts => parts[3] == "06");
            var range = Read("range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();

            // Assert: exit 2, the ephemeral-ports check is the problem, with the namespace's figures.
            Assert.True(Read("doctor.rc").Trim() == "2", $"doctor exited with {Read("doctor.rc").Trim()}: {Read("doctor.json")} {Read("doctor.err")}");
            using var report = new DoctorReportJson(Read("doctor.json"));
            var ports = report.Check("ephemeral-ports");
            Assert.Equal("problem", DoctorReportJson.Status(ports));
            Assert.Equal([40000, 40049], range);
            Assert.Equal(range[0], DoctorReportJson.Figure(ports, "rangeStart").GetInt32());
            Assert.Equal(range[1], DoctorReportJson.Figure(ports, "rangeEnd").GetInt32());
            Assert.Equal(50, DoctorReportJson.Figure(ports, "portCount").GetInt32());
            Assert.InRange(timeWait, TimeWaitSockets - 2, TimeWaitSockets);
            Assert.Equal(timeWait, DoctorReportJson.Figure(ports, "timeWaitTowardsServer").GetInt32());
            Assert.Equal(towards.Count, DoctorReportJson.Figure(ports, "inUseTowardsServer").GetInt32());
            Assert.Equal(50 - towards.Count, DoctorReportJson.Figure(ports, "free").GetInt32());
            Assert.Equal(60, DoctorReportJson.Figure(ports, "timeWaitSeconds").GetDouble());
            Assert.Equal(0.83, DoctorReportJson.Figure(ports, "sustainableConnectionsPerSecond").GetDouble());
            Assert.Equal(
                $"{towards.Count} of 50 ephemeral ports (40000-40049) are held towards 127.0.0.1:1433, {timeWait} of them in TIME_WAIT; {50 - towards.Count} free; "
                + "at most 0.8 new connections/s to this server can be sustained (50 ports / 60 s in TIME_WAIT). "
                + "Fewer than the 100 connections Max Pool Size lets the pool open at once (a cold start, a failover, ClearPool).",
                DoctorReportJson.Summary(ports)[..DoctorReportJson.Summary(ports).IndexOf(" Machine-wide:", StringComparison.Ordinal)]);
            Assert.Equal(0, DoctorReportJson.Figure(report.Check("tcp-tw-reuse"), "tcpTwReuse").GetInt32());

            // The server itself answers: the endpoint steps pass in the namespace.
            Assert.Equal("ok", DoctorReportJson.Status(report.Check("login")));
            Assert.DoesNotContain(Secret, Read("doctor.json") + Read("doctor.err"), StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static string DotNetHost() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
}

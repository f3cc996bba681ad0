using System.Net;
using System.Net.Sockets;
using System.Text;

using SafeSql.Testing;
using SafeSql.Diagnostics;

namespace SafeSql.Tests.Classification;

public sealed class SafeSqlTcpProbeTests : IDisposable
{
    private const string Tcp4Header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    private const string Tcp6Header = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    private readonly string _procRoot = Path.Combine(Path.GetTempPath(), "safesql-proc-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_procRoot))
        {
            Directory.Delete(_procRoot, recursive: true);
        }
    }

    [SkippableTheory]
    [InlineData("127.0.0.1", false, "0100007F")]
    [InlineData("10.0.0.5", false, "0500000A")]
    [InlineData("127.0.0.1", true, "0000000000000000FFFF00000100007F")]
    [InlineData("::1", true, "00000000000000000000000001000000")]
    public void EncodeAddress_LittleEndianHost_MatchesKernelFormat(string address, bool forTcp6, string expected)
    {
        Skip.IfNot(BitConverter.IsLittleEndian, "the expected text is the little-endian kernel format");

        // Act
        var encoded = Encoding.ASCII.GetString(OsTcpProcParser.EncodeAddress(IPAddress.Parse(address), forTcp6));

        // Assert
        Assert.Equal(expected, encoded);
    }

    [Fact]
    public void CountLines_KernelFixture_CountsTimeWaitAndConnectionsTowardsEndPoint()
    {
        // Arrange: a listener (0A, excluded), 3 TIME_WAIT (06) and 1 ESTABLISHED (01) towards 127.0.0.1:1433, 1 TIME_WAIT elsewhere.
        var text = Tcp4Header +
            "   0: 0100007F:0599 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1545 1 00000000c5e1034e 100 0 0 10 0\n" +
            "   1: 0100007F:9C40 0100007F:0599 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n" +
            "   2: 0100007F:9C41 0100007F:0599 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n" +
            "   3: 0100007F:9C42 0100007F:0599 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n" +
            "   4: 0100007F:9C43 0100007F:0599 01 00000000:00000000 00:00000000 00000000     0        0 2211 1 0000000000000000 20 4 30 10 -1\n" +
            "   5: 0100007F:9C44 0500000A:0599 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n";
        var counts = default(OsTcpProcParser.Counts);

        // Act
        OsTcpProcParser.CountLines(Encoding.ASCII.GetBytes(text), OsTcpProcParser.EncodeAddress(IPAddress.Loopback, false), 1433, ref counts);

        // Assert
        Assert.Equal(4, counts.ConnectionsTowards);
        Assert.Equal(3, counts.TimeWaitTowards);
        Assert.Equal(5, counts.ConnectionsTotal);
        Assert.Equal(4, counts.TimeWaitTotal);
    }

    [Fact]
    public void CaptureLinux_FixtureProcTree_ReadsRangeReservedPortsAndSettings()
    {
        // Arrange: 50-port range with 2 reserved, 2 TIME_WAIT towards 127.0.0.1:1433 in tcp, 1 IPv4-mapped in tcp6.
        WriteProc("net/tcp", Tcp4Header +
            "   0: 0100007F:9C40 0100007F:0599 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n" +
            "   1: 0100007F:9C41 0100007F:0599 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n");
        WriteProc("net/tcp6", Tcp6Header +
            "   0: 0000000000000000FFFF00000100007F:9C42 0000000000000000FFFF00000100007F:0599 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n" +
            "   1: 00000000000000000000000001000000:0599 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3322 1 0000000000000000 100 0 0 10 0\n");
        WriteProc("sys/net/ipv4/ip_local_port_range", "40000\t40049\n");
        WriteProc("sys/net/ipv4/ip_local_reserved_ports", "40010,40020-40020,50000-50100\n");
        WriteProc("sys/net/ipv4/tcp_fin_timeout", "60\n");
        WriteProc("sys/net/ipv4/tcp_tw_reuse", "0\n");
        WriteProc("sys/net/core/somaxconn", "4096\n");

        // Act
        var snapshot = SafeSqlTcpProbe.CaptureLinux(new IPEndPoint(IPAddress.Loopback, 1433), _procRoot);

        // Assert
        Assert.Equal(40000, snapshot.EphemeralPortRangeStart);
        Assert.Equal(40049, snapshot.EphemeralPortRangeEnd);
        Assert.Equal(48, snapshot.EphemeralPortCount);
        Assert.False(snapshot.IsEphemeralPortRangeAssumed);
        Assert.Equal(3, snapshot.ConnectionsTowardsEndPoint);
        Assert.Equal(3, snapshot.TimeWaitTowardsEndPoint);
        Assert.Equal(3, snapshot.TimeWaitTotal);
        Assert.Equal(TimeSpan.FromSeconds(60), snapshot.TcpFinTimeout);
        Assert.Equal(0, snapshot.TcpTimeWaitReuse);
        Assert.Equal(4096, snapshot.ListenBacklogLimit);
        Assert.False(snapshot.IndicatesExhaustion);
        Assert.Equal("3 of 48 ephemeral ports (40000-40049) in use towards 127.0.0.1:1433, 3 of them in TIME_WAIT (3 TIME_WAIT in total)", snapshot.ToString());
    }

    [Fact]
    public void CaptureLinux_RangeFull_IndicatesExhaustion()
    {
        // Arrange: 10 ports, 9 in TIME_WAIT towards the server (90 %).
        var lines = new StringBuilder(Tcp4Header);
        for (var i = 0; i < 9; i++)
        {
            lines.Append(System.Globalization.CultureInfo.InvariantCulture, $"   {i}: 0100007F:{40000 + i:X4} 0100007F:0599 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n");
        }

        WriteProc("net/tcp", lines.ToString());
        WriteProc("sys/net/ipv4/ip_local_port_range", "40000 40009\n");

        // Act
        var snapshot = SafeSqlTcpProbe.CaptureLinux(new IPEndPoint(IPAddress.Loopback, 1433), _procRoot);

        // Assert
        Assert.True(snapshot.IndicatesExhaustion);
        Assert.Equal(9, snapshot.PortsInUse);
        Assert.Equal(_procRoot + "/net/tcp", snapshot.Source);
    }

    [Fact]
    public void CaptureLinux_NoProcFiles_ReportsUnavailableAndAssumedRange()
    {
        // Act
        var snapshot = SafeSqlTcpProbe.CaptureLinux(new IPEndPoint(IPAddress.Loopback, 1433), _procRoot);

        // Assert
        Assert.Equal("unavailable", snapshot.Source);
        Assert.True(snapshot.IsEphemeralPortRangeAssumed);
        Assert.Equal(0, snapshot.ConnectionsTowardsEndPoint);
        Assert.False(snapshot.IndicatesExhaustion);
    }

    [Fact]
    public void CaptureLinuxForClassification_FewSocketsInSockstat_ReturnsTotalsWithoutWalkingProcNetTcp()
    {
        // Arrange: /proc/net/tcp holds a line that would count, but sockstat's totals (3 + 1 + 4 = 8 of 50) rule exhaustion out.
        WriteProc("net/sockstat", "sockets: used 14\nTCP: inuse 3 orphan 0 tw 4 alloc 7 mem 1\nUDP: inuse 0 mem 0\n");
        WriteProc("net/sockstat6", "TCP6: inuse 1\nUDP6: inuse 0\n");
        WriteProc("net/tcp", Tcp4Header + "   0: 0100007F:9C40 0100007F:0599 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n");
        WriteProc("sys/net/ipv4/ip_local_port_range", "40000 40049\n");

        // Act
        var snapshot = SafeSqlTcpProbe.CaptureLinuxForClassification(new IPEndPoint(IPAddress.Loopback, 1433), _procRoot);

        // Assert
        Assert.Equal(_procRoot + "/net/sockstat", snapshot.Source);
        Assert.Null(snapshot.ConnectionsTowardsEndPoint);
        Assert.Equal(8, snapshot.ConnectionsTotal);
        Assert.Equal(4, snapshot.TimeWaitTotal);
        Assert.False(snapshot.IndicatesExhaustion);
        Assert.Equal("only 8 TCP sockets exist in all (4 in TIME_WAIT) for 50 ephemeral ports (40000-40049)", snapshot.ToString());
    }

    [Fact]
    public void CaptureLinuxForClassification_SockstatNearTheRange_WalksProcNetTcpForTheEndPoint()
    {
        // Arrange: 45 TIME_WAIT of 50 ports could be exhaustion: the per-endpoint counts decide.
        WriteProc("net/sockstat", "TCP: inuse 1 orphan 0 tw 45 alloc 2 mem 1\n");
        WriteProc("net/tcp", Tcp4Header + "   0: 0100007F:9C40 0100007F:0599 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000\n");
        WriteProc("sys/net/ipv4/ip_local_port_range", "40000 40049\n");

        // Act
        var snapshot = SafeSqlTcpProbe.CaptureLinuxForClassification(new IPEndPoint(IPAddress.Loopback, 1433), _procRoot);

        // Assert
        Assert.Equal(_procRoot + "/net/tcp", snapshot.Source);
        Assert.Equal(1, snapshot.TimeWaitTowardsEndPoint);
    }

    [SkippableFact]
    public async Task Capture_RealSocketsInTimeWait_CountsThemTowardsTheListener()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "reads /proc/net/tcp");

        // Arrange: the client closes first, so each client socket goes to TIME_WAIT towards the listener.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endPoint = (IPEndPoint)listener.LocalEndpoint;
        for (var i = 0; i < 5; i++)
        {
            using var client = new TcpClient(AddressFamily.InterNetwork);
            await client.ConnectAsync(endPoint);
            using var accepted = await listener.AcceptTcpClientAsync();
            client.Client.Shutdown(SocketShutdown.Both);
            client.Close();
            Assert.Equal(0, await accepted.GetStream().ReadAsync(new byte[1])); // the client's FIN arrived: the client side is in TIME_WAIT
        }

        // Act
        var snapshot = SafeSqlTcpProbe.Capture(endPoint);

        // Assert
        Assert.Equal(5, snapshot.TimeWaitTowardsEndPoint);
        Assert.True(snapshot.ConnectionsTowardsEndPoint >= 5);
        Assert.True(snapshot.TimeWaitTotal >= 5);
        Assert.Contains("/proc/net/tcp", snapshot.Source, StringComparison.Ordinal);
        Assert.False(snapshot.IsEphemeralPortRangeAssumed);
    }

    [SkippableFact]
    public void DiagnosticConnect_ListenerThenNone_ReportsSuccessWithoutTimeWaitThenConnectionRefused()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "reads /proc/net/tcp");

        // Arrange
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endPoint = (IPEndPoint)listener.LocalEndpoint;

        // Act: TIME_WAIT towards the port counted before and after (a port the kernel hands out again can still have TIME_WAIT
        // entries of an earlier test's connections to it).
        var timeWaitBefore = SafeSqlTcpProbe.Capture(endPoint).TimeWaitTowardsEndPoint;
        var accepted = SafeSqlTcpProbe.DiagnosticConnect(endPoint, TimeSpan.FromSeconds(5));
        var timeWaitAfterward = SafeSqlTcpProbe.Capture(endPoint).TimeWaitTowardsEndPoint;
        listener.Stop();
        var refused = SafeSqlTcpProbe.DiagnosticConnect(endPoint, TimeSpan.FromSeconds(5));

        // Assert: a successful probe is reset (linger 0), so it leaves no port in TIME_WAIT.
        Assert.Equal(SocketError.Success, accepted);
        Assert.True(timeWaitAfterward <= timeWaitBefore, $"TIME_WAIT towards the port: {timeWaitBefore} before the probe, {timeWaitAfterward} after");
        Assert.Equal(SocketError.ConnectionRefused, refused);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DiagnosticConnect_ListenerResetsRightAfterAccepting_ReturnsConnectionReset(bool async)
    {
        // Arrange: a listener that resets each connection right after accepting it (linger 0), as a full accept queue with
        // tcp_abort_on_overflow=1 does. The watch (30 s) ends when the reset arrives, however busy the machine is.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.ResetOnAccept = true;
        var watch = TimeSpan.FromSeconds(30);

        // Act
        var result = async
            ? await SafeSqlTcpProbe.DiagnosticConnectAsync(server.EndPoint, TimeSpan.FromSeconds(5), watch)
            : SafeSqlTcpProbe.DiagnosticConnect(server.EndPoint, TimeSpan.FromSeconds(5), watch);

        // Assert
        Assert.Equal(SocketError.ConnectionReset, result);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DiagnosticConnect_ServerThatWaitsForThePrelogin_ReturnsSuccessAfterTheWatch(bool async)
    {
        // Arrange: a TDS server that is up sends nothing until the client's PRELOGIN.
        await using var server = await LoopbackSqlServer.StartAsync();

        // Act
        var result = async
            ? await SafeSqlTcpProbe.DiagnosticConnectAsync(server.EndPoint, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100))
            : SafeSqlTcpProbe.DiagnosticConnect(server.EndPoint, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100));

        // Assert
        Assert.Equal(SocketError.Success, result);
    }

    [Theory]
    [InlineData(null, 0)]
    [InlineData("", 0)]
    [InlineData("40010", 1)]
    [InlineData("39000-40004,40049,41000", 6)]
    public void CountReservedPorts_List_CountsOnlyPortsInRange(string? text, int expected)
    {
        // Act
        var count = SafeSqlTcpProbe.CountReservedPorts(text, 40000, 40049);

        // Assert
        Assert.Equal(expected, count);
    }

    private void WriteProc(string relativePath, string content)
    {
        var path = Path.Combine(_procRoot, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }
}

using System.Net;
using System.Net.Sockets;

using Microsoft.Data.SqlClient;

using SafeSql.Diagnostics;
using SafeSql.Testing;
using SafeSql.Tests.TestUtilities;

namespace SafeSql.Tests.Classification;

/// <summary>
/// The decision table for a connect failure whose socket error SqlClient lost (6.1+ on Linux: Number 0, class 20, error 35,
/// inner SocketException "Success"): a real refusal exception, with the operating-system evidence (socket counts, diagnostic connect) supplied by the test.
/// </summary>
public sealed partial class SqlFailureClassifierTests
{
    [Fact]
    public async Task Classify_AmbiguousFailureWithFullRangeAndAddressNotAvailable_ReturnsSocketExhaustionWithFigures()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var exception = await CaptureRefusalAsync(server);
        var evidence = new FakeEvidence(Snapshot(server.EndPoint, towards: 50, timeWait: 50), SocketError.AddressNotAvailable);

        // Act
        var failure = SqlFailureClassifier.Classify(exception, Context(server, evidence));

        // Assert
        Assert.Equal(SqlFailureKind.SocketExhaustion, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.Equal(SocketError.AddressNotAvailable, failure.SocketError);
        Assert.Equal(
            $"""SqlClient could not open a TCP connection and lost the socket error (SqlException Number 0, "TCP Provider, error: 35", inner SocketException with error code Success: SqlClient reads the socket's state before its error on Linux), so SafeSql asked the operating system. The client ran out of ephemeral TCP ports: 50 of 50 ephemeral ports (40000-40049) in use towards 127.0.0.1:{server.Port}, 50 of them in TIME_WAIT (50 TIME_WAIT in total); a diagnostic connect to the same endpoint failed with AddressNotAvailable (EADDRNOTAVAIL, 99 on Linux: no free local port). Each connection the client closes keeps its local port in TIME_WAIT (60 s on Linux, 120 s on Windows (TcpTimedWaitDelay; 240 s before Windows Server 2003)), so opening and closing connections faster than the range allows (28,232 ports / 60 s, about 470 per second towards one server with Linux defaults) exhausts it. Enable connection pooling (remove Pooling=false) and dispose connections so they return to the pool; do not retry at once, since ports free up only as TIME_WAIT expires and every retry takes another one.""",
            failure.Explanation);
    }

    [Fact]
    public async Task Classify_AmbiguousFailureWithFewSocketsAndAddressNotAvailable_ReturnsNetworkUnreachable()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var exception = await CaptureRefusalAsync(server);
        var evidence = new FakeEvidence(Snapshot(server.EndPoint, towards: 2, timeWait: 1), SocketError.AddressNotAvailable);

        // Act
        var failure = SqlFailureClassifier.Classify(exception, Context(server, evidence));

        // Assert
        Assert.Equal(SqlFailureKind.NetworkUnreachable, failure.Kind);
        Assert.False(failure.IsTransient);
        Assert.Contains("but the figures rule out port exhaustion: 2 of 50 ephemeral ports", failure.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Classify_AmbiguousFailureWithFullRangeButRefusedProbe_ReturnsConnectionRefused()
    {
        // Arrange: many TIME_WAIT sockets, but a port was free for the diagnostic connect, which was refused.
        await using var server = await LoopbackSqlServer.StartAsync();
        var exception = await CaptureRefusalAsync(server);
        var evidence = new FakeEvidence(Snapshot(server.EndPoint, towards: 48, timeWait: 48), SocketError.ConnectionRefused);

        // Act
        var failure = SqlFailureClassifier.Classify(exception, Context(server, evidence));

        // Assert
        Assert.Equal(SqlFailureKind.ConnectionRefused, failure.Kind);
        Assert.Equal(SocketError.ConnectionRefused, failure.SocketError);
    }

    [Fact]
    public async Task Classify_AmbiguousFailureAndTheProbeIsAcceptedAndKept_ReturnsConnectionRefusedListeningAgain()
    {
        // Arrange: the connect failed (SqlClient lost the code), and a diagnostic connect right after is accepted and not reset.
        await using var server = await LoopbackSqlServer.StartAsync();
        var exception = await CaptureRefusalAsync(server);
        var evidence = new FakeEvidence(Snapshot(server.EndPoint, towards: 1, timeWait: 1), SocketError.Success);

        // Act
        var failure = SqlFailureClassifier.Classify(exception, Context(server, evidence));

        // Assert: a full accept queue on Linux never refuses, so a listener there now is a server that has just (re)started.
        Assert.Equal(SqlFailureKind.ConnectionRefused, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.Null(failure.SocketError);
        Assert.Contains($"The connect to 127.0.0.1:{server.Port} was refused, and a diagnostic connect right after was accepted and kept (no reset within 100 ms): nothing listened when SqlClient connected and the server listens again now, so it has just started or restarted", failure.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Classify_AmbiguousFailureAndTheProbeIsReset_ReturnsListenBacklogOverflow()
    {
        // Arrange: the diagnostic connect is accepted, then reset without a byte sent (tcp_abort_on_overflow=1 with a full queue).
        await using var server = await LoopbackSqlServer.StartAsync();
        var exception = await CaptureRefusalAsync(server);
        var evidence = new FakeEvidence(Snapshot(server.EndPoint, towards: 1, timeWait: 1), SocketError.ConnectionReset);

        // Act
        var failure = SqlFailureClassifier.Classify(exception, Context(server, evidence));

        // Assert: the overflow, remembered for the endpoint.
        Assert.Equal(SqlFailureKind.ListenBacklogOverflow, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.Contains("then reset within 100 ms without a byte sent: the server's TCP stack resets handshakes that find its accept queue full", failure.Explanation, StringComparison.Ordinal);
        Assert.Equal(1, evidence.OverflowsRemembered);
    }

    [Fact]
    public async Task Classify_AmbiguousFailureAndTheProbeIsAcceptedAfterARecentOverflow_ReturnsListenBacklogOverflow()
    {
        // Arrange: the same accepted probe, but the endpoint's backlog was seen overflowing within the last 5 s.
        await using var server = await LoopbackSqlServer.StartAsync();
        var exception = await CaptureRefusalAsync(server);
        var evidence = new FakeEvidence(Snapshot(server.EndPoint, towards: 1, timeWait: 1), SocketError.Success) { OverflowSeen = true };

        // Act
        var failure = SqlFailureClassifier.Classify(exception, Context(server, evidence));

        // Assert: the reset of that overflow met this connect; not remembered again (only unambiguous shapes renew it).
        Assert.Equal(SqlFailureKind.ListenBacklogOverflow, failure.Kind);
        Assert.Contains("listen backlog was seen overflowing within the last 5 s", failure.Explanation, StringComparison.Ordinal);
        Assert.Equal(0, evidence.OverflowsRemembered);
    }

    [Fact]
    public async Task Classify_SynDroppedAndProbeUnansweredAfterARecentOverflow_ReturnsListenBacklogOverflowWithoutRenewingIt()
    {
        // Arrange: a real 258 (a full accept queue drops the SYN); the diagnostic connect gets no answer either, and the
        // endpoint's backlog was seen overflowing within the last 5 s.
        using var listener = await FullAcceptQueueListener.StartAsync();
        var exception = await CaptureOpenFailureAsync(UnreachableConnectionString(listener.DataSource), async: true);
        var evidence = new FakeEvidence(Snapshot(listener.EndPoint, towards: 2, timeWait: 0), SocketError.TimedOut) { OverflowSeen = true };
        var context = new SqlClassificationContext(SqlOperationPhase.Open, listener.DataSource, null, evidence);

        // Act
        var failure = SqlFailureClassifier.Classify(exception, context);

        // Assert: the same overflow; not remembered again from this alone (a host that falls silent is not an overflow for ever).
        Assert.Equal(258, Assert.IsType<SqlException>(exception).Number);
        Assert.Equal(SqlFailureKind.ListenBacklogOverflow, failure.Kind);
        Assert.Contains("(its SYN dropped: a full accept queue) while its listen backlog was seen overflowing within the last 5 s", failure.Explanation, StringComparison.Ordinal);
        Assert.Equal(0, evidence.OverflowsRemembered);
    }

    [Fact]
    public async Task Classify_AmbiguousFailureAndProbeTimesOut_ReturnsConnectTimeout()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var exception = await CaptureRefusalAsync(server);
        var evidence = new FakeEvidence(Snapshot(server.EndPoint, towards: 0, timeWait: 0), SocketError.TimedOut);

        // Act
        var failure = SqlFailureClassifier.Classify(exception, Context(server, evidence));

        // Assert
        Assert.Equal(SqlFailureKind.ConnectTimeout, failure.Kind);
        Assert.True(failure.IsTransient);
    }

    [Fact]
    public async Task Classify_AmbiguousFailureWithoutEndPointButMachineWideRangeFull_ReturnsSocketExhaustion()
    {
        // Arrange: no endpoint (no diagnostic connect), machine-wide counts at the range.
        await using var server = await LoopbackSqlServer.StartAsync();
        var exception = await CaptureRefusalAsync(server);
        var evidence = new FakeEvidence(Snapshot(null, towards: 0, timeWait: 49, total: 49), SocketError.AddressNotAvailable);
        var context = new SqlClassificationContext(SqlOperationPhase.Open, null, null, evidence);

        // Act
        var failure = SqlFailureClassifier.Classify(exception, context);

        // Assert
        Assert.Equal(SqlFailureKind.SocketExhaustion, failure.Kind);
        Assert.Equal(0, evidence.Connects);
        Assert.Contains("49 TCP sockets exist in all (49 in TIME_WAIT) for 50 ephemeral ports (40000-40049)", failure.Explanation, StringComparison.Ordinal);
    }

    private static async Task<Exception> CaptureRefusalAsync(LoopbackSqlServer server)
    {
        var connectionString = ConnectionString(server, b => b.ConnectTimeout = 1);
        await server.StopAsync();
        return await CaptureOpenFailureAsync(connectionString, async: true);
    }

    private static SqlClassificationContext Context(LoopbackSqlServer server, FakeEvidence evidence) =>
        new(SqlOperationPhase.Open, DataSource(server), null, evidence);

    private static SafeSqlTcpSnapshot Snapshot(IPEndPoint? endPoint, int towards, int timeWait, int? total = null) =>
        new(endPoint, 40000, 40049, 50, false, endPoint is null ? null : towards, endPoint is null ? null : timeWait, total ?? towards, total ?? timeWait, TimeSpan.FromSeconds(60), 4096, 0, portsSharedAcrossDestinations: true, "/proc/net/tcp");

    /// <summary>Operating-system evidence chosen by the test (the SqlClient exception stays real).</summary>
    private sealed class FakeEvidence(SafeSqlTcpSnapshot snapshot, SocketError connectResult) : ITcpEvidenceSource
    {
        public int Connects { get; private set; }

        public bool OverflowSeen { get; init; }

        public int OverflowsRemembered { get; private set; }

        public void RememberOverflow(IPEndPoint endPoint) => OverflowsRemembered++;

        public bool OverflowWithin(IPEndPoint endPoint, TimeSpan window) => OverflowSeen;

        public SafeSqlTcpSnapshot Capture(IPEndPoint? endPoint) => snapshot;

        public SocketError Connect(IPEndPoint endPoint)
        {
            Connects++;
            return connectResult;
        }

        public Task<SocketError> ConnectAsync(IPEndPoint endPoint) => Task.FromResult(Connect(endPoint));

        public bool AcceptedWithin(IPEndPoint endPoint, TimeSpan window) => false;
    }
}

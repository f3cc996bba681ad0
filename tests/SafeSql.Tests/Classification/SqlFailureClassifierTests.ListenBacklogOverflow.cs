using System.Net;
using System.Net.Sockets;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Time.Testing;

using SafeSql.Testing;
using SafeSql.Tests.TestUtilities;

namespace SafeSql.Tests.Classification;

/// <summary>
/// Listen-backlog overflow told apart from a server that is down, from real SqlClient exceptions and real diagnostic connects:
/// a reset before the pre-login answer (what a full accept queue sends with <c>tcp_abort_on_overflow=1</c>; here the loopback
/// server's <see cref="LoopbackSqlServerFaults.ResetOnAccept"/>, the same bytes on the wire for the client) and a dropped SYN
/// (258, a listener whose accept queue is full), each decided by whether the server is seen accepting.
/// </summary>
public sealed partial class SqlFailureClassifierTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    [Trait(SqlClientPool.Trait, SqlClientPool.Sensitive)]
    public async Task Classify_ResetBeforePreloginWhileTheServerAccepts_ReturnsListenBacklogOverflow(bool async)
    {
        // Arrange: the server resets each connection before answering PRELOGIN, and still listens.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.ResetOnAccept = true;
        var exception = await CaptureOpenFailureAsync(ConnectionString(server, b => b.ConnectTimeout = 2), async);
        var context = new SqlClassificationContext(SqlOperationPhase.Open, DataSource(server), null, PatientEvidence(TimeProvider.System, OsTcpEvidenceSource.DefaultResetWatch));

        // Act
        var failure = async ? await SqlFailureClassifier.ClassifyAsync(exception, context, CancellationToken.None) : SqlFailureClassifier.Classify(exception, context);

        // Assert: SqlClient's shape (0 / 20; where the reset lands decides the rest: on the read of the PRELOGIN answer, an inner
        // reset; on the write, "connection initialization process before login"; on the connect itself, the lost error code),
        // and the diagnostic connect that the server accepted.
        var sql = Assert.IsType<SqlException>(exception);
        Assert.Equal(0, sql.Number);
        Assert.Equal(SqlFailureKind.ListenBacklogOverflow, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.False(failure.MayHaveExecuted);
        Assert.Contains(failure.SocketError, new SocketError?[] { SocketError.ConnectionReset, null });
        Assert.Contains($"127.0.0.1:{server.Port}", failure.Explanation, StringComparison.Ordinal);
        Assert.Contains("yet a diagnostic connect right after was accepted", failure.Explanation, StringComparison.Ordinal);
        Assert.Contains("listen backlog overflowed", failure.Explanation, StringComparison.Ordinal);
        Assert.Contains("warm the pool with Min Pool Size", failure.Explanation, StringComparison.Ordinal);
        Assert.Contains("net.core.somaxconn", failure.Explanation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    [Trait(SqlClientPool.Trait, SqlClientPool.Sensitive)]
    public async Task Classify_ResetBeforePreloginThenServerStops_ReturnsConnectionRefused(bool async)
    {
        // Arrange: the reset came from a server that then stopped listening (stopping or restarting).
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.ResetOnAccept = true;
        var exception = await CaptureOpenFailureAsync(ConnectionString(server, b => b.ConnectTimeout = 2), async);
        server.Faults.RefuseConnections = true;
        var context = new SqlClassificationContext(SqlOperationPhase.Open, DataSource(server), null, PatientEvidence(TimeProvider.System, OsTcpEvidenceSource.DefaultResetWatch));

        // Act
        var failure = async ? await SqlFailureClassifier.ClassifyAsync(exception, context, CancellationToken.None) : SqlFailureClassifier.Classify(exception, context);

        // Assert: refused, whichever of SqlClient's shapes the reset took (see the test above).
        Assert.Equal(SqlFailureKind.ConnectionRefused, failure.Kind);
        Assert.Equal(SocketError.ConnectionRefused, failure.SocketError);
        Assert.Contains("refused (ECONNREFUSED)", failure.Explanation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_SynDroppedByAFullAcceptQueueWhileThePoolHoldsConnections_ReturnsListenBacklogOverflow(bool async)
    {
        // Arrange: a real 258 (the listener's accept queue is full, Linux drops the SYN); the pool holds 3 connections to it.
        using var listener = await FullAcceptQueueListener.StartAsync();
        var exception = await CaptureOpenFailureAsync(UnreachableConnectionString(listener.DataSource), async);
        var context = new SqlClassificationContext(SqlOperationPhase.Open, listener.DataSource, null, FreshEvidence(), OpenConnections: () => 3);

        // Act
        var failure = async ? await SqlFailureClassifier.ClassifyAsync(exception, context, CancellationToken.None) : SqlFailureClassifier.Classify(exception, context);

        // Assert: the diagnostic connect's SYN is dropped too, and the open connections show a server that accepts.
        Assert.Equal(258, Assert.IsType<SqlException>(exception).Number);
        Assert.Equal(SqlFailureKind.ListenBacklogOverflow, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.StartsWith($"The TCP connect to 127.0.0.1:{listener.EndPoint.Port} got no answer within Connect Timeout (SqlException 258: its SYN was dropped), yet this pool holds 3 open connections to it, while a diagnostic connect right after got no answer within 500 ms either (its SYN dropped too), so the server is up", failure.Explanation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_SynDroppedWithNothingShowingTheServerAccepts_ReturnsConnectTimeout(bool async)
    {
        // Arrange: the same real 258, but no open connection and the diagnostic connect gets no answer either.
        using var listener = await FullAcceptQueueListener.StartAsync();
        var exception = await CaptureOpenFailureAsync(UnreachableConnectionString(listener.DataSource), async);
        var context = new SqlClassificationContext(SqlOperationPhase.Open, listener.DataSource, null, FreshEvidence(), OpenConnections: () => 0);

        // Act
        var failure = async ? await SqlFailureClassifier.ClassifyAsync(exception, context, CancellationToken.None) : SqlFailureClassifier.Classify(exception, context);

        // Assert: a silent host and a full queue look the same from here; without evidence of accepting it stays a connect timeout.
        Assert.Equal(SqlFailureKind.ConnectTimeout, failure.Kind);
        Assert.Equal(SocketError.TimedOut, failure.SocketError);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_SynDroppedThenTheServerAccepts_ReturnsListenBacklogOverflow(bool async)
    {
        // Arrange: a real 258 towards the server, whose listener then accepts the diagnostic connect (its queue drained): the
        // loopback server plays the server once the queue has room, so the exception and the probe are both real.
        using var listener = await FullAcceptQueueListener.StartAsync();
        var exception = await CaptureOpenFailureAsync(UnreachableConnectionString(listener.DataSource), async);
        await using var server = await LoopbackSqlServer.StartAsync();
        var context = new SqlClassificationContext(SqlOperationPhase.Open, DataSource(server), null, FreshEvidence());

        // Act
        var failure = async ? await SqlFailureClassifier.ClassifyAsync(exception, context, CancellationToken.None) : SqlFailureClassifier.Classify(exception, context);

        // Assert
        Assert.Equal(SqlFailureKind.ListenBacklogOverflow, failure.Kind);
        Assert.Contains("yet a diagnostic connect right after was accepted, so the server is up and dropped the SYN because its listen backlog was full", failure.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Classify_RefusedWhileThePoolHoldsConnectionsAndTheProbeGetsNoAnswer_ReturnsListenBacklogOverflow()
    {
        // Arrange: a real refusal (the error code SqlClient loses on Linux); the probe's SYN is dropped while the pool holds
        // connections to the server: a live server whose accept queue is full.
        await using var server = await LoopbackSqlServer.StartAsync();
        var exception = await CaptureRefusalAsync(server);
        var evidence = new FakeEvidence(Snapshot(server.EndPoint, towards: 5, timeWait: 0), SocketError.TimedOut);
        var context = new SqlClassificationContext(SqlOperationPhase.Open, DataSource(server), null, evidence, OpenConnections: () => 5);

        // Act
        var failure = SqlFailureClassifier.Classify(exception, context);

        // Assert
        Assert.Equal(SqlFailureKind.ListenBacklogOverflow, failure.Kind);
        Assert.Contains("was refused or reset, yet a diagnostic connect right after got no answer within 500 ms from a host that had just answered (its SYN dropped: a full accept queue) and this pool holds 5 open connections to it", failure.Explanation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_SynDroppedAfterTheServerAcceptedADiagnosticConnect_ReturnsListenBacklogOverflow(bool async)
    {
        // Arrange: a listener with a backlog of 0 that never accepts. A diagnostic connect is accepted by its kernel and takes
        // the one place in the accept queue (it stays there, reset, until accepted, which never happens); from then on every
        // SYN is dropped: SqlClient's (a real 258) and the next diagnostic connect's.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;
        var dataSource = $"tcp:127.0.0.1,{endPoint.Port}";
        var evidence = FreshEvidence();
        Assert.Equal(SocketError.Success, evidence.Connect(endPoint));
        var exception = await CaptureOpenFailureAsync(UnreachableConnectionString(dataSource), async);
        var context = new SqlClassificationContext(SqlOperationPhase.Open, dataSource, null, evidence);

        // Act
        var failure = async ? await SqlFailureClassifier.ClassifyAsync(exception, context, CancellationToken.None) : SqlFailureClassifier.Classify(exception, context);

        // Assert
        Assert.Equal(258, Assert.IsType<SqlException>(exception).Number);
        Assert.Equal(SqlFailureKind.ListenBacklogOverflow, failure.Kind);
        Assert.Contains("a diagnostic connect right after got no answer within 500 ms (its SYN dropped: a full accept queue) while one within the last 5 s was accepted", failure.Explanation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    [Trait(SqlClientPool.Trait, SqlClientPool.Sensitive)]
    public async Task Classify_RefusedThenTheServerListensAgain_ReturnsConnectionRefusedNotOverflow(bool async)
    {
        // Arrange: a real refusal (nothing listens; SqlClient loses the code on Linux), then the server restarts on the same
        // port before the failure is classified: the diagnostic connect is accepted and kept.
        await using var server = await LoopbackSqlServer.StartAsync();
        var exception = await CaptureRefusalAsync(server);
        await server.RestartAsync();
        var evidence = PatientEvidence(TimeProvider.System, OsTcpEvidenceSource.DefaultResetWatch);
        var context = new SqlClassificationContext(SqlOperationPhase.Open, DataSource(server), null, evidence);

        // Act
        var failure = async ? await SqlFailureClassifier.ClassifyAsync(exception, context, CancellationToken.None) : SqlFailureClassifier.Classify(exception, context);

        // Assert: a restart, not an overflow (a full accept queue on Linux drops the SYN or resets after the handshake), and no
        // overflow remembered for the endpoint.
        Assert.Equal(SocketError.Success, Assert.IsType<SocketException>(exception.InnerException).SocketErrorCode);
        Assert.Equal(SqlFailureKind.ConnectionRefused, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.Contains("the server listens again now, so it has just started or restarted", failure.Explanation, StringComparison.Ordinal);
        Assert.False(evidence.OverflowWithin(server.EndPoint, TimeSpan.FromMinutes(1)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    [Trait(SqlClientPool.Trait, SqlClientPool.Sensitive)]
    public async Task Classify_RefusedShapeWhileTheListenerResetsHandshakes_ReturnsListenBacklogOverflow(bool async)
    {
        // Arrange: the lost-code shape (a reset that meets SqlClient's connect looks the same as a refusal), and a listener that
        // resets every connection after the handshake. The reset is watched for up to 30 s: the probe returns when it arrives,
        // so the outcome does not depend on how fast a loaded machine runs the server's accept loop.
        await using var server = await LoopbackSqlServer.StartAsync();
        var exception = await CaptureRefusalAsync(server);
        await server.RestartAsync();
        server.Faults.ResetOnAccept = true;
        var evidence = PatientEvidence(TimeProvider.System, TimeSpan.FromSeconds(30));
        var context = new SqlClassificationContext(SqlOperationPhase.Open, DataSource(server), null, evidence);

        // Act
        var failure = async ? await SqlFailureClassifier.ClassifyAsync(exception, context, CancellationToken.None) : SqlFailureClassifier.Classify(exception, context);

        // Assert
        Assert.Equal(SqlFailureKind.ListenBacklogOverflow, failure.Kind);
        Assert.Contains("then reset within 100 ms without a byte sent", failure.Explanation, StringComparison.Ordinal);
        Assert.True(evidence.OverflowWithin(server.EndPoint, TimeSpan.FromMinutes(1)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    [Trait(SqlClientPool.Trait, SqlClientPool.Sensitive)]
    public async Task Classify_RefusedShapeAfterAnOverflowOfTheSameEndPoint_ReturnsListenBacklogOverflow(bool async)
    {
        // Arrange: two real failures towards one server: a refusal (lost code), then resets before the pre-login while it listens.
        await using var server = await LoopbackSqlServer.StartAsync();
        var refusal = await CaptureRefusalAsync(server);
        await server.RestartAsync();
        server.Faults.ResetOnAccept = true;
        var reset = await CaptureOpenFailureAsync(ConnectionString(server, b => b.ConnectTimeout = 2), async);
        var clock = new FakeTimeProvider();
        var evidence = PatientEvidence(clock, TimeSpan.FromSeconds(2));
        var context = new SqlClassificationContext(SqlOperationPhase.Open, DataSource(server), null, evidence);

        // Act: the reset is classified while the server still resets (an overflow, remembered); then the server serves again
        // and, 2 s later on the evidence's clock (past the probe's 1 s cache, within the 5 s), the refusal-shaped failure is
        // classified: its diagnostic connect is accepted and kept.
        var first = async ? await SqlFailureClassifier.ClassifyAsync(reset, context, CancellationToken.None) : SqlFailureClassifier.Classify(reset, context);
        server.Faults.ResetOnAccept = false;
        clock.Advance(TimeSpan.FromSeconds(2));
        var second = async ? await SqlFailureClassifier.ClassifyAsync(refusal, context, CancellationToken.None) : SqlFailureClassifier.Classify(refusal, context);

        // Assert: within 5 s of a corroborated overflow the lost-code shape is that overflow's reset meeting the connect.
        Assert.Equal(SqlFailureKind.ListenBacklogOverflow, first.Kind);
        Assert.Equal(SqlFailureKind.ListenBacklogOverflow, second.Kind);
        Assert.Contains("listen backlog was seen overflowing within the last 5 s", second.Explanation, StringComparison.Ordinal);
    }

    /// <summary>
    /// Real evidence whose diagnostic connect may take 30 s (it returns as soon as the listener accepts or refuses): an
    /// asynchronous connect bounded to 500 ms can report no answer when a busy thread pool runs its completion late (pool v2
    /// blocks pool threads in the tests beside), and these tests are about listeners that answer.
    /// </summary>
    private static OsTcpEvidenceSource PatientEvidence(TimeProvider clock, TimeSpan resetWatch) =>
        new(clock, OsTcpEvidenceSource.DefaultCacheDuration, TimeSpan.FromSeconds(30), resetWatch);

    /// <summary>Real operating-system evidence with nothing cached from other tests.</summary>
    private static OsTcpEvidenceSource FreshEvidence() =>
        new(TimeProvider.System, OsTcpEvidenceSource.DefaultCacheDuration, OsTcpEvidenceSource.DefaultConnectTimeout);
}

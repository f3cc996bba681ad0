#pragma warning disable CA1859 // Tests call through ISqlConnectionFactory, as applications do.

using System.Runtime.CompilerServices;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Logging;

using SafeSql.Diagnostics;

using static SafeSql.Tests.TestUtilities.CallerInfo;

namespace SafeSql.Tests.Leases;

public sealed class LeaseSentinelTests(LoopbackServerFixture fixture) : IClassFixture<LoopbackServerFixture>
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Finalizer_ConnectionDroppedWithoutDispose_ReportsCollectedWithItsCallSite(bool async)
    {
        // Arrange: Max Pool Size=1, so the next open also shows that SqlClient got the dropped connection back; no watchdog,
        // so on a slow machine only the finalizer can report.
        await using var harness = new FactoryHarness(fixture.ConnectionString(maxPoolSize: 1, connectTimeout: 10), o => o.LeakDetectionThreshold = null);
        var line = async ? await OpenAndDropAsync(harness.Factory) : OpenAndDrop(harness.Factory);

        // Act
        var reports = await CollectGarbageUntilReportedAsync(harness);

        // Assert
        var report = Assert.Single(reports);
        Assert.Equal(SqlConnectionLeakKind.CollectedWithoutDispose, report.Kind);
        var member = async ? nameof(OpenAndDropAsync) : nameof(OpenAndDrop);
        Assert.Equal(member, report.Lease.CallSite!.MemberName);
        Assert.Equal(line, report.Lease.CallSite.LineNumber);
        Assert.Equal(ThisFilePath(), report.Lease.CallSite.FilePath);
        Assert.StartsWith(
            $"Connection leak in SafeSql pool '{harness.Name}': the connection opened at LeaseSentinelTests.cs:{line} ({member}) was garbage-collected without being closed or disposed, ",
            report.Message,
            StringComparison.Ordinal);
        Assert.EndsWith(
            " s after it was opened; its pooled connection could not be reused until then. Dispose every connection: 'await using var connection = await factory.OpenAsync();'.",
            report.Message,
            StringComparison.Ordinal);
        var log = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.LeakCollectedWithoutDispose);
        Assert.Equal(LogLevel.Warning, log.Level);
        Assert.Equal(report.Message, log.Message);
        Assert.Equal(0, harness.Factory.GetPoolSnapshot().LeasedCount);
        await using var reused = await harness.Factory.OpenConnectionAsync();
        Assert.Equal(System.Data.ConnectionState.Open, reused.State);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Finalizer_ConnectionDisposedThenDropped_ReportsNothing(bool async)
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString());
        if (async)
        {
            await OpenDisposeAndDropAsync(harness.Factory);
        }
        else
        {
            OpenDisposeAndDrop(harness.Factory);
        }

        // Act
        CollectGarbage();
        harness.Factory.Tracker.DrainCollected();

        // Assert
        Assert.Empty(harness.Reports);
        Assert.Equal(0, harness.Factory.GetPoolSnapshot().LeasedCount);
    }

    [Fact]
    public async Task Finalizer_ScopeAndItsConnectionDroppedWithoutDispose_ReportsCollected()
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString());
        var line = OpenInScopeAndDropBoth(harness.Factory);

        // Act
        var reports = await CollectGarbageUntilReportedAsync(harness);

        // Assert
        var report = Assert.Single(reports);
        Assert.Equal(SqlConnectionLeakKind.CollectedWithoutDispose, report.Kind);
        Assert.Equal(line, report.Lease.CallSite!.LineNumber);
    }

    [Fact]
    public async Task Finalizer_SentinelReusedWhileItsFormerConnectionIsKept_ReportsTheDroppedConnection()
    {
        // Arrange: a connection opened and disposed but kept by the application (a field, a cache); its sentinel goes back
        // to the tracker's pool and serves the next open on this thread.
        await using var harness = new FactoryHarness(fixture.ConnectionString(maxPoolSize: 2, connectTimeout: 10), o => o.LeakDetectionThreshold = null);
        var kept = harness.Factory.OpenConnection();
        kept.Dispose();
        var line = OpenAndDrop(harness.Factory);

        // Act
        var reports = await CollectGarbageUntilReportedAsync(harness);

        // Assert: the kept connection no longer references the sentinel (it unsubscribed on close), so the dropped one is
        // found; and reopening the kept connection by hand does not end or report anyone's lease.
        var report = Assert.Single(reports);
        Assert.Equal(SqlConnectionLeakKind.CollectedWithoutDispose, report.Kind);
        Assert.Equal(line, report.Lease.CallSite!.LineNumber);
        await using var next = await harness.Factory.OpenConnectionAsync();
        kept.ConnectionString = harness.Factory.ConnectionStringWithPassword;
        kept.Open();
        kept.Close();
        Assert.Equal(1, harness.Factory.GetPoolSnapshot().LeasedCount);
        Assert.Single(harness.Reports);
        GC.KeepAlive(kept);
    }

    /// <summary>
    /// Collects until the first report arrives (at most 30 s): one collection is not always enough on a loaded machine, where
    /// SqlClient's own open machinery can still hold the connection at the first one.
    /// </summary>
    private static async Task<IReadOnlyList<SqlConnectionLeakReport>> CollectGarbageUntilReportedAsync(FactoryHarness harness)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (harness.Reports.Count == 0 && DateTime.UtcNow < deadline)
        {
            CollectGarbage();
            await Task.Delay(100);
        }

        return await harness.WaitForReportsAsync(1, TimeSpan.FromSeconds(1));
    }

    private static void CollectGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int OpenAndDrop(SafeSqlDataSource factory)
    {
        var (connection, line) = (factory.OpenConnection(), CurrentLine());
        GC.KeepAlive(connection);
        return line;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<int> OpenAndDropAsync(SafeSqlDataSource factory)
    {
        var (connection, line) = (await factory.OpenConnectionAsync(), CurrentLine());
        GC.KeepAlive(connection);
        return line;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void OpenDisposeAndDrop(SafeSqlDataSource factory)
    {
        using var connection = factory.OpenConnection();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task OpenDisposeAndDropAsync(SafeSqlDataSource factory)
    {
        await using var connection = await factory.OpenConnectionAsync();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int OpenInScopeAndDropBoth(SafeSqlDataSource factory)
    {
        var scope = factory.CreateScope();
        var (connection, line) = (scope.OpenConnection(), CurrentLine());
        GC.KeepAlive(connection);
        return line;
    }
}

using System.Runtime.CompilerServices;

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

using SafeSql.Diagnostics;
using SafeSql.Tests.TestUtilities;

using static SafeSql.Tests.TestUtilities.CallerInfo;

namespace SafeSql.Tests.Leases;

/// <summary>The held-too-long watchdog, driven by a manual clock: no test sleeps.</summary>
public sealed class LeaseTrackerTests(LoopbackServerFixture fixture) : IClassFixture<LoopbackServerFixture>
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Watchdog_LeaseHeldPastThreshold_ReportsOnceAtThresholdAndAgainOnReturn(bool async)
    {
        // Arrange
        var time = new FakeTimeProvider();
        await using var harness = new FactoryHarness(fixture.ConnectionString(), o => o.LeakDetectionThreshold = TimeSpan.FromSeconds(5), time);
        var (connection, line) = (async ? await harness.Factory.OpenConnectionAsync() : harness.Factory.OpenConnection(), CurrentLine());
        var site = $"LeaseTrackerTests.cs:{line} (Watchdog_LeaseHeldPastThreshold_ReportsOnceAtThresholdAndAgainOnReturn)";

        // Act / Assert: nothing before the threshold.
        time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));
        Assert.Empty(harness.Reports);

        // Act / Assert: exactly at the threshold, once.
        time.Advance(TimeSpan.FromTicks(1));
        var heldTooLong = Assert.Single(harness.Reports);
        Assert.Equal(SqlConnectionLeakKind.HeldTooLong, heldTooLong.Kind);
        Assert.Equal(TimeSpan.FromSeconds(5), heldTooLong.Lease.HeldFor);
        Assert.Equal(line, heldTooLong.Lease.CallSite!.LineNumber);
        Assert.Equal(
            $"""Possible connection leak in SafeSql pool '{harness.Name}': the connection opened at {site} has been held for 5 s, longer than LeakDetectionThreshold=5 s. Dispose connections as soon as the work is done, or raise SafeSqlOptions.Leaks.LeakDetectionThreshold for long-running work.""",
            heldTooLong.Message);
        var warning = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.LeaseHeldTooLong);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal(heldTooLong.Message, warning.Message);

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Single(harness.Reports);

        // Act / Assert: reported again when finally returned, with the total time held.
        if (async)
        {
            await connection.DisposeAsync();
        }
        else
        {
            connection.Dispose();
        }

        Assert.Equal(2, harness.Reports.Count);
        var returned = harness.Reports[1];
        Assert.Equal(SqlConnectionLeakKind.ReturnedAfterHeldTooLong, returned.Kind);
        Assert.Equal(TimeSpan.FromSeconds(65), returned.Lease.HeldFor);
        Assert.Equal(
            $"""The connection of SafeSql pool '{harness.Name}' opened at {site}, reported as held too long, was returned after 65 s.""",
            returned.Message);
        var information = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.LeaseReturnedAfterHeldTooLong);
        Assert.Equal(LogLevel.Information, information.Level);
        Assert.Equal(returned.Message, information.Message);
        var leak = Assert.Single(harness.MeasurementsOf("db.client.connection.safesql.leaks"));
        Assert.Equal("held_too_long", leak.Tags["safesql.leak.kind"]);
    }

    [Fact]
    public async Task Watchdog_LeaseReturnedBeforeThreshold_ReportsNothing()
    {
        // Arrange
        var time = new FakeTimeProvider();
        await using var harness = new FactoryHarness(fixture.ConnectionString(), o => o.LeakDetectionThreshold = TimeSpan.FromSeconds(5), time);
        var connection = harness.Factory.OpenConnection();
        time.Advance(TimeSpan.FromSeconds(4));

        // Act
        connection.Dispose();
        time.Advance(TimeSpan.FromMinutes(10));

        // Assert
        Assert.Empty(harness.Reports);
        Assert.False(harness.Factory.Tracker.IsWatchdogArmed);
    }

    [Fact]
    public async Task Watchdog_LeasesOpenedAtDifferentTimes_ReportsEachAtItsOwnThreshold()
    {
        // Arrange
        var time = new FakeTimeProvider();
        await using var harness = new FactoryHarness(fixture.ConnectionString(), o => o.LeakDetectionThreshold = TimeSpan.FromSeconds(5), time);
        await using var first = harness.Factory.OpenConnection();
        time.Advance(TimeSpan.FromSeconds(3));
        await using var second = await harness.Factory.OpenConnectionAsync();

        // Act / Assert
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal([TimeSpan.FromSeconds(5)], harness.Reports.Select(r => r.Lease.HeldFor));
        time.Advance(TimeSpan.FromSeconds(3) - TimeSpan.FromTicks(1));
        Assert.Single(harness.Reports);
        time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal([TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)], harness.Reports.Select(r => r.Lease.HeldFor));
        Assert.All(harness.Reports, r => Assert.Equal(SqlConnectionLeakKind.HeldTooLong, r.Kind));
    }

    [Fact]
    public async Task Watchdog_ThresholdNull_CreatesNoTimerAndReportsNothing()
    {
        // Arrange
        var time = new FakeTimeProvider();
        await using var harness = new FactoryHarness(fixture.ConnectionString(), o => o.LeakDetectionThreshold = null, time);
        await using var connection = harness.Factory.OpenConnection();

        // Act
        time.Advance(TimeSpan.FromDays(2));

        // Assert
        Assert.False(harness.Factory.Tracker.HasWatchdog);
        Assert.Empty(harness.Reports);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Watchdog_FullStackCapture_ReportCarriesTheCallersStack(bool async)
    {
        // Arrange
        var time = new FakeTimeProvider();
        await using var harness = new FactoryHarness(
            fixture.ConnectionString(),
            o =>
            {
                o.LeakDetectionThreshold = TimeSpan.FromSeconds(2);
                o.StackCapture = SqlConnectionStackCaptureMode.Full;
            },
            time);
        await using var connection = async ? await harness.Factory.OpenConnectionAsync() : harness.Factory.OpenConnection();

        // Act
        time.Advance(TimeSpan.FromSeconds(2));

        // Assert
        var report = Assert.Single(harness.Reports);
        var stack = report.Lease.StackTrace;
        Assert.NotNull(stack);
        var firstFrame = stack.Split(Environment.NewLine)[0];
        Assert.Contains(nameof(Watchdog_FullStackCapture_ReportCarriesTheCallersStack), firstFrame, StringComparison.Ordinal);
        Assert.Contains("LeaseTrackerTests.cs:line ", firstFrame, StringComparison.Ordinal);
        Assert.EndsWith(Environment.NewLine + stack, report.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SafeSql.Lease", stack, StringComparison.Ordinal); // no frame of the lease machinery (LeaseTracker, LeaseRecord, LeaseSentinel...)
    }

    [Fact]
    public async Task Watchdog_StackCaptureNone_ReportsAnUnknownCallSite()
    {
        // Arrange
        var time = new FakeTimeProvider();
        await using var harness = new FactoryHarness(
            fixture.ConnectionString(),
            o =>
            {
                o.LeakDetectionThreshold = TimeSpan.FromSeconds(2);
                o.StackCapture = SqlConnectionStackCaptureMode.None;
            },
            time);
        await using var connection = harness.Factory.OpenConnection();

        // Act
        time.Advance(TimeSpan.FromSeconds(2));

        // Assert
        var report = Assert.Single(harness.Reports);
        Assert.Null(report.Lease.CallSite);
        Assert.Null(report.Lease.StackTrace);
        Assert.Contains("the connection opened at an unknown call site (StackCapture=None) has been held for 2 s", report.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watchdog_CallbackThrows_LogsAndKeepsReporting()
    {
        // Arrange
        var time = new FakeTimeProvider();
        await using var harness = new FactoryHarness(
            fixture.ConnectionString(),
            o =>
            {
                o.LeakDetectionThreshold = TimeSpan.FromSeconds(2);
                o.OnLeakDetected = _ => throw new InvalidOperationException("callback bug");
            },
            time);
        await using var first = harness.Factory.OpenConnection();
        time.Advance(TimeSpan.FromSeconds(1));
        await using var second = harness.Factory.OpenConnection();

        // Act
        time.Advance(TimeSpan.FromSeconds(5));

        // Assert
        Assert.Equal(2, harness.Reports.Count);
        var failures = harness.Logs.GetSnapshot().Where(r => r.Id.Id == SafeSqlEventId.LeakCallbackFailed).ToList();
        Assert.Equal(2, failures.Count);
        Assert.All(failures, f => Assert.Equal("callback bug", f.Exception?.Message));
        Assert.Equal(
            $"The OnLeakDetected callback of SafeSql pool '{harness.Name}' threw; the leak report was still logged and counted. Make the callback catch its own exceptions.",
            failures[0].Message);
    }

    [Fact]
    public async Task Watchdog_LoggerThrowsOnTheReport_LogsLeakReportFailedAndKeepsWatching()
    {
        // Arrange: a logging provider that fails on the held-too-long warning (the timer thread must survive it).
        var time = new FakeTimeProvider();
        var logs = new ThrowingLoggerFactory(SafeSqlEventId.LeaseHeldTooLong);
        var options = new SafeSqlOptions { ConnectionString = fixture.ConnectionString() };
        options.Leaks.LeakDetectionThreshold = TimeSpan.FromSeconds(5);
        var name = $"throwing-logger-{Guid.NewGuid():N}";
        await using var factory = new SafeSqlDataSource(name, options, logs, metrics: null, time);
        await using var first = factory.OpenConnection();

        // Act
        time.Advance(TimeSpan.FromSeconds(5));
        await using var second = factory.OpenConnection();
        time.Advance(TimeSpan.FromSeconds(5));

        // Assert: both leases reached the logger (the watchdog was re-armed after the first failure), each failure was logged.
        Assert.Equal(2, logs.Thrown);
        var failures = logs.Inner.GetSnapshot().Where(r => r.Id.Id == SafeSqlEventId.LeakReportFailed).ToList();
        Assert.Equal(2, failures.Count);
        Assert.Equal(LogLevel.Warning, failures[0].Level);
        Assert.Equal(
            $"Reporting a HeldTooLong leak of SafeSql pool '{name}' threw on a background thread (a logging provider or metrics listener failed); the report may be incomplete. The finalizer drain and the watchdog go on.",
            failures[0].Message);
        factory.ClearPool();
    }

    [Fact]
    public async Task DrainCollected_TrackerDisposed_ReportsNothing()
    {
        // Arrange
        var time = new FakeTimeProvider();
        await using var harness = new FactoryHarness(fixture.ConnectionString(), timeProvider: time);
        var record = new LeaseRecord(harness.Factory.Tracker, "Member", "File.cs", 1, null, harness.Factory.Tracker.GetTimestamp());
        harness.Factory.Tracker.Dispose();

        // Act
        harness.Factory.Tracker.OnCollected(record);
        harness.Factory.Tracker.DrainCollected();

        // Assert
        Assert.False(record.IsActive);
        Assert.Empty(harness.Reports);
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.LeakCollectedWithoutDispose);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OnClosed_FullStackCapture_ReleasesTheStackOfTheEndedLease(bool async)
    {
        // Arrange
        await using var harness = new FactoryHarness(fixture.ConnectionString(), o => o.StackCapture = SqlConnectionStackCaptureMode.Full);
        var connection = async ? await harness.Factory.OpenConnectionAsync() : harness.Factory.OpenConnection();
        var active = new List<LeaseRecord>();
        harness.Factory.Tracker.CopyActiveLeases(active);
        var record = Assert.Single(active);
        Assert.NotNull(record.Stack);

        // Act
        if (async)
        {
            await connection.DisposeAsync();
        }
        else
        {
            connection.Dispose();
        }

        // Assert
        Assert.False(record.IsActive);
        Assert.Null(record.Stack);
    }

    [Fact]
    public void DescribePoolExhausted_FewerLeasesThanMaxPoolSize_NamesBothCausesAndTheOpenFailureEvent()
    {
        // Arrange: nothing leased through SafeSql (a slow server: SqlClient's queued opens time out behind its creation lock).
        using var metrics = new SafeSqlMetrics(null);
        var connectionString = new Microsoft.Data.SqlClient.SqlConnectionStringBuilder { MaxPoolSize = 10, ConnectTimeout = 3 };
        using var tracker = new LeaseTracker("orders", connectionString, new SqlConnectionLeakOptions(), new FakeTimeProvider(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, metrics);

        // Act
        var message = tracker.DescribePoolExhausted();

        // Assert
        Assert.Equal(
            """Connection pool exhausted: 0 of Max Pool Size=10 leased through SafeSql. Either code that opens the same connection string without SafeSql holds the other connections, or the pool is not full: SqlClient creates new pooled connections one at a time, so while the server is slow or unreachable, queued opens time out with this same message; the open failures logged before it (event 3000) tell which. Dispose connections; raising Max Pool Size only hides the leak. (SqlClient waited Connect Timeout=3 s for a free pooled connection; see InnerException.)""",
            message);
    }

    /// <summary>A logger factory whose loggers record everything and throw on one event id (a failing logging provider).</summary>
    private sealed class ThrowingLoggerFactory(int throwOnEventId) : ILoggerFactory
    {
        private int _thrown;

        public int ThrowOnEventId { get; } = throwOnEventId;

        public FakeLogCollector Inner { get; } = new();

        public int Thrown => Volatile.Read(ref _thrown);

        public ILogger CreateLogger(string categoryName) => new ThrowingLogger(this, new FakeLogger(Inner, categoryName));

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class ThrowingLogger(ThrowingLoggerFactory owner, ILogger inner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                if (eventId.Id == owner.ThrowOnEventId)
                {
                    Interlocked.Increment(ref owner._thrown);
                    throw new InvalidOperationException("logging provider bug");
                }
            }
        }
    }
}

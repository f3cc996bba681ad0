using System.Collections.Concurrent;
using System.Diagnostics;

using Microsoft.Data.SqlClient;

using SafeSql.Diagnostics;
using SafeSql.Testing;
using SafeSql.Tests.Leases;
using SafeSql.Tests.TestUtilities;

namespace SafeSql.Tests.Diagnostics;

/// <summary>
/// The "SafeSql" activity source: one client span per logical open through a data source (its retries inside it, an event per
/// failed attempt), through the real SqlClient against the loopback server. The listener is process-wide, so each test keeps
/// only the spans of its own data source (its pool name).
/// </summary>
[Trait(SqlClientPool.Trait, SqlClientPool.Sensitive)]
public sealed class SafeSqlActivitySourceTests : IDisposable
{
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public SafeSqlActivitySourceTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SafeSqlTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_Succeeds_OneClientSpanWithTheEndpointAndNoError(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var builder = new SqlConnectionStringBuilder(SafeSqlPoolMetricsTests.ConnectionString(server)) { InitialCatalog = "orders" };
        await using var harness = new FactoryHarness(builder.ConnectionString);
        using var request = new Activity("request").Start();

        // Act
        await using (var connection = await harness.OpenAsync(async))
        {
            // Assert: the caller's span is current again, so its commands are siblings of the open span.
            Assert.Same(request, Activity.Current);
        }

        // Assert
        var span = Assert.Single(SpansOf(harness.Name));
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal("OPEN orders", span.DisplayName);
        Assert.Equal(request.SpanId, span.ParentSpanId);
        Assert.Equal("microsoft.sql_server", span.GetTagItem("db.system.name"));
        Assert.Equal(server.EndPoint.Address.ToString(), span.GetTagItem("server.address"));
        Assert.Equal(server.Port, span.GetTagItem("server.port"));
        Assert.Equal("orders", span.GetTagItem("db.namespace"));
        Assert.Equal(true, span.GetTagItem("safesql.open.new_connection"));
        Assert.Null(span.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Unset, span.Status);
        Assert.Empty(span.Events);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_RefusedThenRestarted_OneSpanWithAnEventPerFailedAttemptAndNoErrorType(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        // SqlClient 6.1+ on Linux waits about 90 % of Connect Timeout for a refused connect: a short one, inside a long budget.
        var builder = new SqlConnectionStringBuilder(SafeSqlPoolMetricsTests.ConnectionString(server)) { ConnectTimeout = 3, PoolBlockingPeriod = PoolBlockingPeriod.NeverBlock };
        await using var harness = new FactoryHarness(builder.ConnectionString, configureOptions: o => o.OpenTimeout = TimeSpan.FromSeconds(60));
        await server.StopAsync();

        // Act: refused until the server is back, announced by the pipeline's first retry.
        var open = async ? harness.Factory.OpenConnectionAsync().AsTask() : Task.Run(() => harness.Factory.OpenConnection());
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await harness.NextRetryAsync(patience.Token);
        await server.RestartAsync();
        await using var connection = await open;

        // Assert: one span; one event per failed attempt (as many as the 3000 records), each with its kind and delay.
        var span = Assert.Single(SpansOf(harness.Name));
        var failedAttempts = harness.Logs.GetSnapshot().Count(r => r.Id.Id == SafeSqlEventId.OpenAttemptFailed);
        Assert.True(failedAttempts >= 1);
        var events = span.Events.ToList();
        Assert.Equal(failedAttempts, events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            var tags = events[i].Tags.ToDictionary(t => t.Key, t => t.Value);
            Assert.Equal("safesql.open.attempt_failed", events[i].Name);
            Assert.Equal(i + 1, tags["safesql.open.attempt"]);
            Assert.Equal("connection_refused", tags["safesql.failure.kind"]);
            Assert.True((double)tags["safesql.retry.delay"]! > 0);
        }

        Assert.Null(span.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Unset, span.Status);
        Assert.Contains(server.Logins, l => l.Succeeded);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_AuthenticationFails_SpanEndsWithErrorTypeAndOneEventWithTheErrorNumber(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = 18456;
        await using var harness = new FactoryHarness(SafeSqlPoolMetricsTests.ConnectionString(server));

        // Act
        var exception = await Record.ExceptionAsync(async () => await harness.OpenAsync(async));

        // Assert
        Assert.Equal(18456, Assert.IsType<SqlException>(exception).Number);
        var span = Assert.Single(SpansOf(harness.Name));
        Assert.Equal("authentication_failure", span.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        var attempt = Assert.Single(span.Events);
        var tags = attempt.Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal("18456", tags["db.response.status_code"]);
        Assert.False(tags.ContainsKey("safesql.retry.delay"));
        Assert.DoesNotContain(span.TagObjects, t => t.Value?.ToString()?.Contains(LoopbackSqlServerOptions.DefaultPassword, StringComparison.Ordinal) == true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HolderOpen_EfCoreConnection_OneSpanPerOpen(bool async)
    {
        // Arrange: the connection EF Core's UseSafeSql gets from the data source, opened and closed twice.
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = new FactoryHarness(SafeSqlPoolMetricsTests.ConnectionString(server));
        var holder = harness.Factory.CreateHolderConnection("OrdersContext", "OrdersContext.cs", 12);
        await using var connection = holder.Connection;

        // Act
        for (var i = 0; i < 2; i++)
        {
            if (async)
            {
                await holder.OpenAsync();
            }
            else
            {
                holder.Open();
            }

            await connection.CloseAsync();
        }

        // Assert: the first open made the physical connection, the second reused it.
        var spans = SpansOf(harness.Name);
        Assert.Equal(2, spans.Count);
        Assert.Equal([true, false], spans.Select(s => (bool)s.GetTagItem("safesql.open.new_connection")!));
    }

    [Fact]
    public async Task Open_NoListenerOnTheSource_CreatesNoActivity()
    {
        // Arrange: a listener that samples nothing of SafeSql's source creates nothing there.
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var harness = new FactoryHarness(SafeSqlPoolMetricsTests.ConnectionString(server));
        var started = 0;
        using var none = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SafeSqlTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                options.Tags?.Any(t => t.Key == "db.client.connection.pool.name" && Equals(t.Value, harness.Name)) == true ? ActivitySamplingResult.None : ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = activity =>
            {
                if (Equals(activity.GetTagItem("db.client.connection.pool.name"), harness.Name))
                {
                    Interlocked.Increment(ref started);
                }
            },
        };
        _listener.Dispose(); // this test's own listener only
        ActivitySource.AddActivityListener(none);

        // Act
        await using (await harness.Factory.OpenConnectionAsync())
        {
            Assert.Null(Activity.Current);
        }

        // Assert
        Assert.Equal(0, started);
        Assert.Empty(SpansOf(harness.Name));
    }

    private List<Activity> SpansOf(string poolName) =>
        [.. _stopped.Where(a => a.OperationName == "SafeSql.Open" && Equals(a.GetTagItem("db.client.connection.pool.name"), poolName))];
}

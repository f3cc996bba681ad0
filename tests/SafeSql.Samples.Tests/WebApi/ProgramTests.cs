using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

using OpenTelemetry.Metrics;

using SafeSql.Samples.Tests.Demo;
using SafeSql.Testing;

namespace SafeSql.Samples.Tests.WebApi;

/// <summary>The WebApi sample through a real HTTP client (WebApplicationFactory), against loopback servers over real TCP.</summary>
public sealed class ProgramTests
{
    private static readonly TimeSpan s_reportTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task GetOrder_DefaultConfiguration_ReadsThroughDapperFromTheSamplesOwnLoopbackServer()
    {
        // Arrange
        await using var app = SampleApp.WithDefaultConfiguration();
        using var client = app.Factory.CreateClient();

        // Act
        var order = await client.GetFromJsonAsync<JsonObject>("/orders/42");

        // Assert
        Assert.Equal("""{"id":42,"product":"Widget","total":42.5}""", order!.ToJsonString());
    }

    [Fact]
    public async Task GetOrder_ConfiguredServer_ReadsOverTcpFromThatServer()
    {
        // Arrange
        await using var app = await SampleApp.WithServerAsync();
        using var client = app.Factory.CreateClient();
        var rpcsBefore = app.Server!.Counters.Rpcs;

        // Act
        var order = await client.GetFromJsonAsync<JsonObject>("/orders/7");

        // Assert: Dapper sent the parameterized query as an RPC (sp_executesql) to the configured server.
        Assert.Equal("""{"id":7,"product":"Widget","total":42.5}""", order!.ToJsonString());
        Assert.True(app.Server.Counters.Rpcs > rpcsBefore);
        Assert.Contains(app.Server.Logins, login => login.ApplicationName.StartsWith("SafeSql.WebApi tests ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GetEfOrder_ConfiguredServer_ReadsThroughEfCoreOnTheSameDataSource()
    {
        // Arrange
        await using var app = await SampleApp.WithServerAsync();
        using var client = app.Factory.CreateClient();
        var rpcsBefore = app.Server!.Counters.Rpcs;

        // Act
        var order = await client.GetFromJsonAsync<JsonObject>("/ef/orders/7");

        // Assert: EF Core sent the parameterized query to the configured server, through the data source's pool, and
        // returned the connection (nothing is leased once the request ended).
        Assert.Equal("""{"id":7,"product":"Widget","total":42.5}""", order!.ToJsonString());
        Assert.True(app.Server.Counters.Rpcs > rpcsBefore);
        Assert.Equal(0, app.Factory.Services.GetRequiredService<SafeSqlDataSource>().GetPoolSnapshot().LeasedCount);
    }

    [Fact]
    public async Task GetOrderReport_SingletonTakingDbDataSource_ReadsThroughSafeSqlsPoolAndEndsItsLease()
    {
        // Arrange: the singleton OrderReport takes a DbDataSource; DI gives it SafeSql's data source.
        await using var app = await SampleApp.WithServerAsync();
        using var client = app.Factory.CreateClient();
        var rpcsBefore = app.Server!.Counters.Rpcs;

        // Act
        var order = await client.GetFromJsonAsync<JsonObject>("/reports/orders/9");
        var pool = await client.GetFromJsonAsync<JsonObject>("/pool");

        // Assert: read from the configured server through SafeSql's (normalized, named) string; the lease ended with the dispose.
        Assert.Equal("""{"id":9,"product":"Widget","total":42.5}""", order!.ToJsonString());
        Assert.True(app.Server.Counters.Rpcs > rpcsBefore);
        Assert.Same(
            app.Factory.Services.GetRequiredService<SafeSqlDataSource>(),
            app.Factory.Services.GetRequiredService<System.Data.Common.DbDataSource>());
        Assert.Equal(0, (int)pool!["leasedCount"]!);
    }

    [Fact]
    public async Task GetLeaky_ConnectionNotDisposed_LeakReportNamesTheFileAndLineAndHealthDegrades()
    {
        // Arrange
        await using var app = await SampleApp.WithServerAsync();
        using var client = app.Factory.CreateClient();
        var line = LineOf("samples/SafeSql.WebApi/OrderEndpoints.cs", "// the leak report names this line");

        // Act
        var response = await client.GetAsync("/leaky");
        var leaks = await PollAsync(client, "/leaks", static json => json.AsArray().Count > 0);

        // Assert: the request scope returned the connection and reported the line that opened it.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = Assert.Single(leaks.AsArray())!.AsObject();
        Assert.Equal("NotDisposedBeforeScopeEnd", (string)report["kind"]!);
        Assert.Equal($"OrderEndpoints.cs:{line} (LeakyAsync)", (string)report["callSite"]!);
        Assert.StartsWith(
            $"Connection leak in SafeSql pool '(default)': the connection opened at OrderEndpoints.cs:{line} (LeakyAsync) was still open when its scope ended, ",
            (string)report["message"]!,
            StringComparison.Ordinal);

        var health = await client.GetFromJsonAsync<JsonObject>("/health");
        Assert.Equal("Degraded", (string)health!["status"]!);
        Assert.Equal(
            "SafeSql pool '(default)' reported a connection leak in the last 5 minutes (1 since start); see the logs with event ids 2001-2007.",
            (string)health["checks"]![0]!["description"]!);

        var pool = await client.GetFromJsonAsync<JsonObject>("/pool");
        Assert.Equal(0, (int)pool!["leasedCount"]!);
        Assert.Equal(1, (long)pool["leaksDetected"]!);
    }

    [Fact]
    public async Task OpenTelemetry_ReadAndLeak_ExportsTheSafeSqlInstrumentsWithTheirValues()
    {
        // Arrange
        await using var app = await SampleApp.WithServerAsync();
        using var client = app.Factory.CreateClient();

        // Act: one read, one leak (reported when the request's scope ends), then the exporter runs.
        await client.GetFromJsonAsync<JsonObject>("/orders/42");
        await client.GetAsync("/leaky");
        await PollAsync(client, "/leaks", static json => json.AsArray().Count > 0);
        var exported = app.ExportMetrics("SafeSql");

        // Assert: what an OpenTelemetry backend receives from the "SafeSql" meter, for the default pool (name "").
        Assert.Equal("{connection}", exported["db.client.connection.count"].Unit);
        Assert.Equal(0, Assert.Single(PointsOfThePool(exported["db.client.connection.count"])).GetSumLong());
        Assert.Equal(100, Assert.Single(PointsOfThePool(exported["db.client.connection.max"])).GetSumLong());
        var useTime = exported["db.client.connection.use_time"];
        Assert.Equal(("s", MetricType.Histogram), (useTime.Unit, useTime.MetricType));
        Assert.Equal(2, Assert.Single(PointsOfThePool(useTime)).GetHistogramCount());
        var leak = Assert.Single(PointsOfThePool(exported["db.client.connection.safesql.leaks"]));
        Assert.Equal(1, leak.GetSumLong());
        Assert.Contains(new KeyValuePair<string, object?>("safesql.leak.kind", "not_disposed_before_scope_end"), Tags(leak));
    }

    [Fact]
    public async Task GetHealth_PoolUnderPressure_TurnsDegradedAndBackToHealthy()
    {
        // Arrange
        await using var app = await SampleApp.WithServerAsync("Max Pool Size=10");
        using var client = app.Factory.CreateClient();
        var healthy = await client.GetFromJsonAsync<JsonObject>("/health");
        var held = new List<SqlConnection>();
        var line = 0;
        await using (var scope = app.Factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ISqlConnectionFactory>();
            for (var i = 0; i < 8; i++)
            {
                (var connection, line) = (await db.OpenConnectionAsync(), CurrentLine());
                held.Add(connection);
            }

            // Act
            var pressured = await client.GetFromJsonAsync<JsonObject>("/health");
            var pool = await client.GetFromJsonAsync<JsonObject>("/pool");

            // Assert
            Assert.Equal("Healthy", (string)healthy!["status"]!);
            Assert.Equal("Degraded", (string)pressured!["status"]!);
            Assert.StartsWith(
                "SafeSql pool '(default)' is under pressure: 8 of Max Pool Size=10 leased; oldest ",
                (string)pressured["checks"]![0]!["description"]!,
                StringComparison.Ordinal);
            Assert.Equal(8, (int)pressured["checks"]![0]!["data"]!["leased"]!);
            Assert.Equal(8, (int)pool!["leasedCount"]!);
            Assert.Equal(10, (int)pool["maxPoolSize"]!);
            Assert.StartsWith(
                $"ProgramTests.cs:{line} ({nameof(GetHealth_PoolUnderPressure_TurnsDegradedAndBackToHealthy)}): 8 leases, oldest ",
                (string)Assert.Single(pool["topCallSites"]!.AsArray())!,
                StringComparison.Ordinal);

            foreach (var connection in held)
            {
                await connection.DisposeAsync();
            }
        }

        var relieved = await client.GetFromJsonAsync<JsonObject>("/health");
        Assert.Equal("Healthy", (string)relieved!["status"]!);
    }

    [Fact]
    public async Task GetHealth_ServerStopped_Unhealthy()
    {
        // Arrange: fail fast (no open retry, 3 s Connect Timeout: a TLS login on a loaded machine needs more than 1 s).
        await using var app = await SampleApp.WithServerAsync("Connect Timeout=3", ("SafeSql:OpenRetry:ConnectionRefused", "DoNotRetry"), ("SafeSql:OpenRetry:ConnectionBroken", "DoNotRetry"), ("SafeSql:OpenRetry:ConnectTimeout", "DoNotRetry"));
        using var client = app.Factory.CreateClient();
        // The first probes also load and JIT SqlClient in this process, which can take longer than the 1 s bound on a loaded
        // machine: wait (at most 10 probes) for the healthy state before stopping the server.
        var before = await client.GetAsync("/health");
        for (var probe = 1; probe < 10 && before.StatusCode != HttpStatusCode.OK; probe++)
        {
            before = await client.GetAsync("/health");
        }

        Assert.True(before.StatusCode == HttpStatusCode.OK, await before.Content.ReadAsStringAsync());
        SqlConnection.ClearAllPools();
        await app.Server!.StopAsync();

        // Act
        var response = await client.GetAsync("/health");
        var health = await response.Content.ReadFromJsonAsync<JsonObject>();

        // Assert
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("Unhealthy", (string)health!["status"]!);
        Assert.StartsWith("SafeSql pool '(default)': opening a connection failed: ", (string)health["checks"]![0]!["description"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Startup_PoolingFalse_FailsWithTheRuleAndItsFixAndNeverThePassword()
    {
        // Arrange
        await using var app = await SampleApp.WithServerAsync("Pooling=false");

        // Act
        var exception = Record.Exception(() => app.Factory.CreateClient());

        // Assert
        var refusal = Assert.IsType<OptionsValidationException>(Unwrap(exception));
        Assert.StartsWith("SafeSqlOptions.ConnectionString refused. SAFESQL004: Pooling=False turns connection pooling off.", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("Fix: Remove Pooling=false (pooling is on by default)", refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(LoopbackSqlServerOptions.DefaultPassword, refusal.ToString(), StringComparison.Ordinal);
    }

    private static Exception? Unwrap(Exception? exception)
    {
        while (exception is AggregateException or System.Reflection.TargetInvocationException && exception.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        return exception;
    }

    [Fact]
    public async Task GetSafeSql_DevelopmentWithAnExportRunningAndALeak_ListsTheHolderAndTheLeakWithoutAuthentication()
    {
        // Arrange: a slow export holding its connection, and a leak.
        await using var app = await SampleApp.WithServerAsync();
        using var client = app.Factory.CreateClient();
        var holderLine = LineOf("samples/SafeSql.WebApi/OrderEndpoints.cs", "// the holder the diagnostics page names");
        var leakLine = LineOf("samples/SafeSql.WebApi/OrderEndpoints.cs", "// the leak report names this line");
        using var stopExport = new CancellationTokenSource();
        var export = client.GetAsync("/orders/export?seconds=60", stopExport.Token);
        await client.GetAsync("/leaky");

        // Act: the sample maps the diagnostics anonymously in Development (WebApplicationFactory's environment).
        var pool = (await PollAsync(client, "/safesql.json", json => json["pools"]![0]!["holders"]!.AsArray().Count > 0 && json["pools"]![0]!["recentLeaks"]!.AsArray().Count > 0))["pools"]![0]!;

        // Assert
        var holder = Assert.Single(pool["holders"]!.AsArray())!;
        Assert.Equal($"OrderEndpoints.cs:{holderLine} (ExportAsync)", (string)holder["callSite"]!);
        Assert.Equal($"OrderEndpoints.cs:{leakLine} (LeakyAsync)", (string)pool["recentLeaks"]![0]!["callSite"]!);
        await stopExport.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => export);
    }

    private static async Task<JsonNode> PollAsync(HttpClient client, string path, Func<JsonNode, bool> done)
    {
        // The leak is reported when the request's scope is disposed, just after the response was sent.
        using var deadline = new CancellationTokenSource(s_reportTimeout);
        while (true)
        {
            var json = (await client.GetFromJsonAsync<JsonNode>(path, deadline.Token))!;
            if (done(json))
            {
                return json;
            }

            await Task.Delay(50, deadline.Token);
        }
    }

    private static IEnumerable<MetricPoint> PointsOfThePool(MetricSnapshot metric) =>
        metric.MetricPoints.Where(point => Tags(point).Exists(tag => tag.Key == "db.client.connection.pool.name" && tag.Value is string { Length: > 0 }));

    private static List<KeyValuePair<string, object?>> Tags(MetricPoint point)
    {
        var tags = new List<KeyValuePair<string, object?>>();
        foreach (var tag in point.Tags)
        {
            tags.Add(tag);
        }

        return tags;
    }

    private static int LineOf(string relativePath, string marker)
    {
        var lines = File.ReadAllLines(Path.Combine(DemoProcess.RepositoryRoot, relativePath));
        return Array.FindIndex(lines, l => l.Contains(marker, StringComparison.Ordinal)) + 1;
    }

    private static int CurrentLine([CallerLineNumber] int line = 0) => line;
}

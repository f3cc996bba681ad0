using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SafeSql.AspNetCore.Tests;

/// <summary>MapSafeSqlDiagnostics on a real Kestrel, real SqlClient against the loopback server over TCP.</summary>
public sealed class SafeSqlDiagnosticsEndpointTests
{
    private static readonly TimeSpan s_eventTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task GetJson_ThreeLeasesHeldFromKnownCallSites_ListsEachHolderWithFileLineAndAge()
    {
        // Arrange: three leases, each opened on its own line of this file.
        await using var app = await DiagnosticsApp.StartAsync();
        var (first, firstLine) = (await app.DataSource.OpenConnectionAsync(), Line());
        var (second, secondLine) = (await app.DataSource.OpenConnectionAsync(), Line());
        var (third, thirdLine) = (await app.DataSource.OpenConnectionAsync(), Line());
        await using var _1 = first;
        await using var _2 = second;
        await using var _3 = third;

        // Act
        var json = await GetJsonAsync(app.Client, "/safesql.json");

        // Assert: schema, the pool, three holders with this file's name and the lines above, oldest first.
        Assert.Equal(1, (int)json["schemaVersion"]!);
        var pool = Assert.Single(json["pools"]!.AsArray())!;
        Assert.Equal("(default)", (string)pool["name"]!);
        Assert.Equal(app.Server.EndPoint.Address + "," + app.Server.EndPoint.Port, ((string)pool["server"]!).Replace("tcp:", string.Empty, StringComparison.Ordinal));
        Assert.Equal(3, (int)pool["leased"]!);
        var holders = pool["holders"]!.AsArray();
        Assert.Equal([firstLine, secondLine, thirdLine], holders.Select(holder => (int)holder!["line"]!));
        Assert.All(holders, holder =>
        {
            Assert.Equal(nameof(SafeSqlDiagnosticsEndpointTests) + ".cs", (string)holder!["file"]!);
            Assert.Equal(nameof(GetJson_ThreeLeasesHeldFromKnownCallSites_ListsEachHolderWithFileLineAndAge), (string)holder["member"]!);
            Assert.StartsWith($"{nameof(SafeSqlDiagnosticsEndpointTests)}.cs:{(int)holder["line"]!} (", (string)holder["callSite"]!, StringComparison.Ordinal);
            Assert.Equal(1, (int)holder["leases"]!);
            Assert.InRange((double)holder["oldestHeldForSeconds"]!, 0, 600);
        });
        var ages = holders.Select(holder => (double)holder!["oldestHeldForSeconds"]!).ToArray();
        Assert.Equal(ages.OrderDescending(), ages);
        Assert.Equal(firstLine, int.Parse(((string)pool["oldestLease"]!["callSite"]!).Split(':', ' ')[1], System.Globalization.CultureInfo.InvariantCulture));

        // The server saw the three connections log in (none was a look-alike).
        Assert.True(app.Server.Counters.Logins >= 3, $"{app.Server.Counters.Logins} logins");
        Assert.False((bool)pool["exhausted"]!);
        Assert.Equal(30.0, (double)pool["leakDetectionThresholdSeconds"]!);
        Assert.NotNull(pool["tcp"]);
        Assert.False(string.IsNullOrEmpty((string)json["sqlClientVersion"]!));
        Assert.Equal(typeof(SqlConnection).Assembly.GetName().Version!.Major, int.Parse(((string)json["sqlClientVersion"]!).Split('.')[0], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task GetJson_ScopeEndsWithConnectionOpen_LeakInRecentLeaksNewestFirstAndApplicationCallbackStillRuns()
    {
        // Arrange
        await using var app = await DiagnosticsApp.StartAsync();
        int leakLine;
        await using (var scope = app.DataSource.CreateScope())
        {
            (_, leakLine) = (await scope.OpenConnectionAsync(), Line());
        }

        int secondLeakLine;
        await using (var scope = app.DataSource.CreateScope())
        {
            (_, secondLeakLine) = (await scope.OpenConnectionAsync(), Line());
        }

        // Act
        var pool = (await GetJsonAsync(app.Client, "/safesql.json"))["pools"]![0]!;

        // Assert: both reports, newest first, and the application's own OnLeakDetected saw them too.
        var leaks = pool["recentLeaks"]!.AsArray();
        Assert.Equal(2, leaks.Count);
        Assert.All(leaks, leak => Assert.Equal("not_disposed_before_scope_end", (string)leak!["kind"]!));
        Assert.Contains($":{secondLeakLine} ", (string)leaks[0]!["callSite"]!, StringComparison.Ordinal);
        Assert.Contains($":{leakLine} ", (string)leaks[1]!["callSite"]!, StringComparison.Ordinal);
        Assert.Equal(2, (long)pool["leaksDetected"]!);
        Assert.Equal(2, app.ApplicationLeaks().Length);
    }

    [Fact]
    public async Task GetJson_ServerRefusesConnections_FailureCountedUnderConnectionRefused()
    {
        // Arrange: no retry, no breaker: each open is one attempt, failed and classified.
        await using var app = await DiagnosticsApp.StartAsync(options =>
        {
            options.OpenRetry = null;
            options.CircuitBreaker = null;
        });
        app.Server.Faults.RefuseConnections = true;
        var loginsBefore = app.Server.Counters.Logins;

        // Act
        var failure = await Assert.ThrowsAnyAsync<Exception>(async () => await app.DataSource.OpenConnectionAsync());
        var pool = (await GetJsonAsync(app.Client, "/safesql.json"))["pools"]![0]!;

        // Assert: the kind the classifier gives the exception is the one counted, in the totals and in a bucket.
        Assert.Equal(SqlFailureKind.ConnectionRefused, SqlFailureClassifier.Classify(failure).Kind);
        Assert.Equal(1, (long)pool["failures"]!["byKind"]!["connection_refused"]!);
        Assert.Single(pool["failures"]!["buckets"]!.AsArray(), bucket => bucket!["byKind"]!.AsObject().ContainsKey("connection_refused"));
        Assert.Equal(loginsBefore, app.Server.Counters.Logins);
    }

    [Theory]
    [InlineData("/safesql")]
    [InlineData("/safesql.json")]
    public async Task Get_NoUser_Returns401(string path)
    {
        // Arrange
        await using var app = await DiagnosticsApp.StartAsync();
        using var anonymous = app.CreateClient(user: null);

        // Act
        using var response = await anonymous.GetAsync(path);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/safesql")]
    [InlineData("/safesql.json")]
    public async Task Get_UserOutsideThePolicy_Returns403(string path)
    {
        // Arrange
        await using var app = await DiagnosticsApp.StartAsync(configureEndpoint: endpoint => endpoint.RequireAuthorization(DiagnosticsApp.OpsPolicy));
        using var developer = app.CreateClient(user: "dev", roles: "developer");

        // Act
        using var forbidden = await developer.GetAsync(path);
        using var allowed = await app.Client.GetAsync(path);

        // Assert
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task Get_AllowAnonymousOptedIn_ServesWithoutUser()
    {
        // Arrange
        await using var app = await DiagnosticsApp.StartAsync(configureEndpoint: endpoint => endpoint.AllowAnonymous());
        using var anonymous = app.CreateClient(user: null);

        // Act
        using var response = await anonymous.GetAsync("/safesql.json");

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Get_ApplicationWithoutAuthenticationOrAuthorizationSetUp_AnonymousOptInServesAndDefaultNeverDoes(bool allowAnonymous)
    {
        // Arrange: a bare application (no AddAuthentication, AddAuthorization or middleware of its own).
        await using var server = await SafeSql.Testing.LoopbackSqlServer.StartAsync();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSafeSql(server.ConnectionString);
        builder.Services.AddSafeSqlDiagnostics();
        await using var app = builder.Build();
        var endpoint = app.MapSafeSqlDiagnostics();
        if (allowAnonymous)
        {
            endpoint.AllowAnonymous();
        }

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var client = new HttpClient { BaseAddress = new Uri(address) };

        // Act
        using var response = await client.GetAsync("/safesql.json");
        var body = await response.Content.ReadAsStringAsync();

        // Assert: served when opted out; otherwise refused (no scheme to authenticate with: ASP.NET Core fails the challenge).
        if (allowAnonymous)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        else
        {
            Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
            Assert.DoesNotContain("schemaVersion", body, StringComparison.Ordinal);
        }

        await app.StopAsync();
    }

    [Theory]
    [InlineData("Password")]
    [InlineData("Pwd")]
    public async Task Get_ConnectionStringWithPassword_NeitherJsonNorHtmlShowsItNorAnyConnectionStringKeyword(string keyword)
    {
        // Arrange: a distinctive password, written with the keyword under test; a lease and a leak so every section renders.
        const string password = "Pr1vate-Secret-73";
        await using var app = await DiagnosticsApp.StartAsync(
            configureServer: options => options.Password = password,
            rewriteConnectionString: connectionString => connectionString.Replace("Password=", keyword + "=", StringComparison.Ordinal));
        await using var held = await app.DataSource.OpenConnectionAsync();
        await using (var scope = app.DataSource.CreateScope())
        {
            await scope.OpenConnectionAsync();
        }

        // Act
        string json;
        using (var response = await app.Client.GetAsync("/safesql.json"))
        {
            json = await response.Content.ReadAsStringAsync();
        }

        var html = await app.GetHtmlAsync();

        // Assert: the password works (the connection is open), and no form of the string shows.
        Assert.Equal(System.Data.ConnectionState.Open, held.State);
        Assert.Contains(keyword + "=", app.Server.ConnectionString.Replace("Password=", keyword + "=", StringComparison.Ordinal), StringComparison.Ordinal);
        foreach (var body in new[] { json, html })
        {
            Assert.DoesNotContain(password, body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Password=", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Pwd=", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("User ID", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Data Source=", body, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Get_BrowserAccept_ServesSelfContainedPageWithHoldersFirstAndCharts()
    {
        // Arrange
        await using var app = await DiagnosticsApp.StartAsync();
        await using var older = await app.DataSource.OpenConnectionAsync();
        await using var newer = await app.DataSource.OpenConnectionAsync();

        // Act
        using var request = new HttpRequestMessage(HttpMethod.Get, "/safesql");
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        using var response = await app.Client.SendAsync(request);
        var html = await response.Content.ReadAsStringAsync();

        // Assert: HTML, locked down (no script, no external load allowed), holders table before the charts, two rows.
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("no-store", response.Headers.CacheControl!.ToString());
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https://", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<meta http-equiv=\"refresh\" content=\"5\">", html, StringComparison.Ordinal);
        var holders = html.IndexOf("<table class=\"holders\">", StringComparison.Ordinal);
        Assert.True(holders > 0);
        Assert.True(holders < html.IndexOf("chart-leased", StringComparison.Ordinal));
        Assert.Contains("<svg class=\"chart chart-failures\"", html, StringComparison.Ordinal);
        Assert.Equal(2, CountOf(html, "<tr class=\"holder"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("*/*")]
    [InlineData("application/json")]
    [InlineData("text/html;q=0.5, application/json")]
    public async Task Get_NonBrowserAccept_ServesJson(string? accept)
    {
        // Arrange
        await using var app = await DiagnosticsApp.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/safesql");
        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }

        // Act
        using var response = await app.Client.SendAsync(request);

        // Assert
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(1, (int)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["schemaVersion"]!);
    }

    [Fact]
    public async Task Get_ManyRequestsWhileLeasesAreHeld_NoOpenNoLoginAndLeasesUnchanged()
    {
        // Arrange: a busy pool (5 leases held).
        await using var app = await DiagnosticsApp.StartAsync();
        var held = new List<SqlConnection>();
        for (var i = 0; i < 5; i++)
        {
            held.Add(await app.DataSource.OpenConnectionAsync());
        }

        _ = await GetJsonAsync(app.Client, "/safesql.json"); // the first request runs the health check once (cached after)
        var loginsBefore = app.Server.Counters.Logins;

        // Act
        for (var i = 0; i < 200; i++)
        {
            _ = await GetJsonAsync(app.Client, "/safesql.json");
        }

        // Assert: 200 reads opened nothing (server-side logins unchanged) and took nothing from the pool.
        Assert.Equal(loginsBefore, app.Server.Counters.Logins);
        Assert.Equal(5, app.DataSource.GetPoolSnapshot().LeasedCount);
        foreach (var connection in held)
        {
            await connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task GetJson_HealthCheckRegistered_ShowsItsStatus()
    {
        // Arrange
        await using var app = await DiagnosticsApp.StartAsync();

        // Act
        var pool = (await GetJsonAsync(app.Client, "/safesql.json"))["pools"]![0]!;

        // Assert
        Assert.Equal("safesql", (string)pool["health"]!["check"]!);
        Assert.Equal("Healthy", (string)pool["health"]!["status"]!);
    }

    [Fact]
    public async Task GetJson_DefaultAndNamedDataSources_OnePoolEachWithItsOwnHoldersAndFailures()
    {
        // Arrange: a second, named data source on another server that refuses; one lease on the default one.
        await using var reportingServer = await SafeSql.Testing.LoopbackSqlServer.StartAsync();
        await using var app = await DiagnosticsApp.StartAsync(configureServices: services => services.AddSafeSql(
            options =>
            {
                options.ConnectionString = reportingServer.ConnectionString;
                options.OpenRetry = null;
                options.CircuitBreaker = null;
            },
            name: "reporting"));
        var reporting = app.App.Services.GetRequiredKeyedService<SafeSqlDataSource>("reporting");
        await using var held = await app.DataSource.OpenConnectionAsync();
        reportingServer.Faults.RefuseConnections = true;
        await Assert.ThrowsAnyAsync<Exception>(async () => await reporting.OpenConnectionAsync());

        // Act
        var pools = (await GetJsonAsync(app.Client, "/safesql.json"))["pools"]!.AsArray();

        // Assert: default first, then by name; each pool's figures are its own.
        Assert.Equal(["(default)", "reporting"], pools.Select(pool => (string)pool!["name"]!));
        Assert.Equal(1, (int)pools[0]!["leased"]!);
        Assert.Empty(pools[0]!["failures"]!["byKind"]!.AsObject());
        Assert.Equal(0, (int)pools[1]!["leased"]!);
        Assert.Equal(1, (long)pools[1]!["failures"]!["byKind"]!["connection_refused"]!);
        Assert.Contains("," + reportingServer.Port, (string)pools[1]!["server"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetJson_MoreLeaksThanTheRingHolds_KeepsTheNewestOnly()
    {
        // Arrange: a ring of 2, three leaks from three lines.
        await using var app = await DiagnosticsApp.StartAsync(configureServices: services => services.AddSafeSqlDiagnostics(options => options.RecentLeakCapacity = 2));
        var lines = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            await using var scope = app.DataSource.CreateScope();
            switch (i)
            {
                case 0: lines.Add(Line()); await scope.OpenConnectionAsync(); break;
                case 1: lines.Add(Line()); await scope.OpenConnectionAsync(); break;
                default: lines.Add(Line()); await scope.OpenConnectionAsync(); break;
            }
        }

        // Act
        var pool = (await GetJsonAsync(app.Client, "/safesql.json"))["pools"]![0]!;

        // Assert: the two newest, newest first; the count since start still says 3.
        var leaks = pool["recentLeaks"]!.AsArray();
        Assert.Equal([lines[2], lines[1]], leaks.Select(leak => int.Parse(((string)leak!["callSite"]!).Split(':', ' ')[1], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(3, (long)pool["leaksDetected"]!);
    }

    [Fact]
    public async Task GetJson_OpensWaitingForAFullPool_ShowsThemAsPendingOpens()
    {
        // Arrange: a pool of one connection, held; two opens wait for it (the core's db.client.connection.pending_requests).
        await using var app = await DiagnosticsApp.StartAsync(rewriteConnectionString: cs => cs + ";Max Pool Size=1;Connect Timeout=60");
        var dataSource = app.App.Services.GetRequiredService<SafeSqlDataSource>();
        var idle = (await GetJsonAsync(app.Client, "/safesql.json"))["pools"]![0]!["pendingOpens"];
        var held = await dataSource.OpenConnectionAsync();
        var waiting = new[] { dataSource.OpenConnectionAsync().AsTask(), dataSource.OpenConnectionAsync().AsTask() };

        // Act: read until both opens count as pending (bounded).
        JsonNode pool = null!;
        for (var i = 0; i < 200; i++)
        {
            pool = (await GetJsonAsync(app.Client, "/safesql.json"))["pools"]![0]!;
            if ((long?)pool["pendingOpens"] == 2)
            {
                break;
            }

            await Task.Delay(50);
        }

        var html = await app.GetHtmlAsync();
        await held.DisposeAsync();
        foreach (var open in waiting)
        {
            await (await open).DisposeAsync();
        }

        // Assert
        Assert.Equal(0, (long)idle!);
        Assert.Equal(2, (long)pool["pendingOpens"]!);
        Assert.Contains("Pending opens <b>2</b>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void MapSafeSqlDiagnostics_ServicesNotAdded_ThrowsNamingTheCall()
    {
        // Arrange
        var app = WebApplication.CreateBuilder().Build();

        // Act
        var exception = Assert.Throws<InvalidOperationException>(() => app.MapSafeSqlDiagnostics());

        // Assert
        Assert.Contains("AddSafeSqlDiagnostics()", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MapSafeSqlDiagnostics_ArgumentValidation()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Services.AddSafeSqlDiagnostics();
        var app = builder.Build();
        Assert.Equal("endpoints", Assert.Throws<ArgumentNullException>(() => SafeSqlDiagnosticsEndpointRouteBuilderExtensions.MapSafeSqlDiagnostics(null!)).ParamName);
        Assert.Equal("pattern", Assert.Throws<ArgumentException>(() => app.MapSafeSqlDiagnostics(" ")).ParamName);
        Assert.Equal("services", Assert.Throws<ArgumentNullException>(() => SafeSqlDiagnosticsServiceCollectionExtensions.AddSafeSqlDiagnostics(null!)).ParamName);
    }

    private static int Line([CallerLineNumber] int line = 0) => line;

    private static int CountOf(string text, string value)
    {
        var count = 0;
        for (var index = text.IndexOf(value, StringComparison.Ordinal); index >= 0; index = text.IndexOf(value, index + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static async Task<JsonNode> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        response.EnsureSuccessStatusCode();
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }
}

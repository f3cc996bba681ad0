using Microsoft.AspNetCore.Builder;

using SafeSql.AspNetCore.Tests;

namespace SafeSql.Tool.Tests;

/// <summary>
/// <c>safesql doctor --url</c> run as a process against a running application's diagnostics endpoint (SafeSql.AspNetCore on a
/// real Kestrel, real SqlClient to the loopback server).
/// </summary>
public sealed class DoctorUrlTests
{
    private static readonly TimeSpan s_eventTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task DoctorUrl_TwoHoldersAndARefusedOpen_PrintsHoldersAndFailuresAndExitsZero()
    {
        // Arrange: one refused open (first: the pool has nothing idle), then two leases from two call sites.
        await using var app = await DiagnosticsApp.StartAsync(
            options =>
            {
                options.OpenRetry = null;
                options.CircuitBreaker = null;
            },
            configureEndpoint: endpoint => endpoint.AllowAnonymous(),
            rewriteConnectionString: connectionString => connectionString + ";Pool Blocking Period=NeverBlock");
        app.Server.Faults.RefuseConnections = true;
        await Assert.ThrowsAnyAsync<Exception>(async () => await app.DataSource.OpenConnectionAsync());
        app.Server.Faults.RefuseConnections = false;
        await using var first = await app.DataSource.OpenConnectionAsync();
        await using var second = await OpenElsewhereAsync(app.DataSource);

        // Act
        var run = await ToolProcess.RunAsync("doctor", "--url", new Uri(app.Address, "/safesql.json").ToString());

        // Assert
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.AllOutput}");
        Assert.Contains("Pool (default)", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("2 of Max Pool Size 100 leased", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"DoctorUrlTests.cs:", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"({nameof(OpenElsewhereAsync)})", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("connection_refused", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Verdict: ok (exit code 0).", run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DoctorUrl_LeaseHeldPastTheLeakThreshold_ExitsOne()
    {
        // Arrange: the shortest threshold the options accept (2 s); wait for the watchdog's report, not for a guessed time.
        await using var app = await DiagnosticsApp.StartAsync(options => options.Leaks.LeakDetectionThreshold = TimeSpan.FromSeconds(2), configureEndpoint: endpoint => endpoint.AllowAnonymous());
        await using var held = await app.DataSource.OpenConnectionAsync();
        await WaitForAsync(() => app.ApplicationLeaks().Any(report => report.Kind == SqlConnectionLeakKind.HeldTooLong));

        // Act
        var run = await ToolProcess.RunAsync("doctor", "--url", new Uri(app.Address, "/safesql").ToString());

        // Assert
        Assert.True(run.ExitCode == 1, $"exit {run.ExitCode}: {run.AllOutput}");
        Assert.Contains("older than the leak threshold", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("held_too_long", run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DoctorUrl_PoolExhausted_ExitsTwo()
    {
        // Arrange: Max Pool Size=2, both leased.
        await using var app = await DiagnosticsApp.StartAsync(configureEndpoint: endpoint => endpoint.AllowAnonymous(), rewriteConnectionString: connectionString => connectionString + ";Max Pool Size=2");
        await using var first = await app.DataSource.OpenConnectionAsync();
        await using var second = await app.DataSource.OpenConnectionAsync();

        // Act
        var run = await ToolProcess.RunAsync("doctor", "--url", new Uri(app.Address, "/safesql.json").ToString());

        // Assert
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.AllOutput}");
        Assert.Contains("2 of Max Pool Size 2 leased", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Verdict: pool exhausted: (default) (exit code 2).", run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DoctorUrl_AuthorizationRequired_ExitsThreeWithoutCredentialsAndReadsWithThemNeverPrintingThem()
    {
        // Arrange: the endpoint's default, authorization required.
        const string user = "ops-user-7f3a9c";
        await using var app = await DiagnosticsApp.StartAsync();
        var url = new Uri(app.Address, "/safesql.json").ToString();

        // Act
        var refused = await ToolProcess.RunAsync("doctor", "--url", url);
        var allowed = await ToolProcess.RunAsync("doctor", "--url", url, "--header", $"{HeaderAuthenticationHandler.UserHeader}: {user}");

        // Assert
        Assert.True(refused.ExitCode == 3, $"exit {refused.ExitCode}: {refused.AllOutput}");
        Assert.Contains("401", refused.StandardError, StringComparison.Ordinal);
        Assert.Contains("--header \"Authorization: Bearer <token>\"", refused.StandardError, StringComparison.Ordinal);
        Assert.True(allowed.ExitCode == 0, $"exit {allowed.ExitCode}: {allowed.AllOutput}");
        Assert.DoesNotContain(user, allowed.AllOutput + refused.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(LoopbackPassword, allowed.AllOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--url", "ftp://host/safesql")]
    [InlineData("--url", "http://127.0.0.1:1/safesql", "--json")]
    [InlineData("--url", "http://127.0.0.1:1/safesql", "--header", "no-colon")]
    public async Task DoctorUrl_BadArguments_UsageError(params string[] arguments)
    {
        // Act
        var run = await ToolProcess.RunAsync(["doctor", .. arguments]);

        // Assert
        Assert.Equal(64, run.ExitCode);
        Assert.Contains("doctor --url <endpoint>", run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DoctorUrl_NothingListens_ExitsThree()
    {
        // Arrange: a port that was just free.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        // Act
        var run = await ToolProcess.RunAsync("doctor", "--url", $"http://127.0.0.1:{port}/safesql");

        // Assert
        Assert.Equal(3, run.ExitCode);
        Assert.Contains("cannot read the endpoint", run.StandardError, StringComparison.Ordinal);
    }

    private const string LoopbackPassword = SafeSql.Testing.LoopbackSqlServerOptions.DefaultPassword;

    private static ValueTask<Microsoft.Data.SqlClient.SqlConnection> OpenElsewhereAsync(SafeSqlDataSource dataSource) => dataSource.OpenConnectionAsync();

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(s_eventTimeout);
        while (!condition())
        {
            await Task.Delay(50, deadline.Token);
        }
    }
}

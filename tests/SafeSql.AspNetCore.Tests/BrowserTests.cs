using System.Diagnostics;
using System.Text.Json.Nodes;

namespace SafeSql.AspNetCore.Tests;

/// <summary>
/// The diagnostics page in a real browser: Debian's headless Chromium, driven by playwright-core (eng/browser/check-page.mjs,
/// installed by eng/test.sh step 1), loads the page from a real Kestrel and the test asserts on the rendered DOM. The
/// screenshot is kept under artifacts/browser/. Without Chromium the test fails and says how to install it, unless
/// SAFESQL_SKIP_BROWSER=1.
/// </summary>
public sealed class BrowserTests
{
    private static readonly TimeSpan s_browserTimeout = TimeSpan.FromSeconds(90);

    [SkippableFact]
    public async Task Page_TwoHoldersOneLeakOneRefusedOpen_RendersHoldersLeaksAndChartsWithoutConsoleErrors()
    {
        // Arrange: two holders (two call sites), one leak (a scope ended with its connection open), one refused open.
        var (chromium, script) = BrowserOrSkip();
        // No retry, no breaker: the refused open is one failed attempt; NeverBlock: SqlClient does not replay that error
        // to the opens after it for its 5 s pool blocking period.
        await using var app = await DiagnosticsApp.StartAsync(
            options =>
            {
                options.OpenRetry = null;
                options.CircuitBreaker = null;
            },
            rewriteConnectionString: connectionString => connectionString + ";Pool Blocking Period=NeverBlock");
        app.Server.Faults.RefuseConnections = true; // first, while the pool has no idle connection to hand out
        await Assert.ThrowsAnyAsync<Exception>(async () => await app.DataSource.OpenConnectionAsync());
        app.Server.Faults.RefuseConnections = false;
        await using var orders = await app.DataSource.OpenConnectionAsync();
        await using var invoices = await OpenForInvoicesAsync(app.DataSource);
        await using (var scope = app.DataSource.CreateScope())
        {
            await scope.OpenConnectionAsync();
        }

        var screenshot = ScreenshotPath(nameof(Page_TwoHoldersOneLeakOneRefusedOpen_RendersHoldersLeaksAndChartsWithoutConsoleErrors));

        // Act: the browser authenticates as the ops user the endpoint requires.
        var page = await RunBrowserAsync(chromium, script, new Uri(app.Address, "/safesql"), screenshot, $"{HeaderAuthenticationHandler.UserHeader}:operator", $"{HeaderAuthenticationHandler.RolesHeader}:ops");

        // Assert: the DOM as rendered.
        Assert.True(page["errors"]!.AsArray().Count == 0, "browser errors: " + page["errors"]!.ToJsonString());
        Assert.Equal(200, (int)page["status"]!);
        Assert.StartsWith("text/html", (string)page["contentType"]!, StringComparison.Ordinal);
        Assert.Equal(0, (int)page["scripts"]!);
        var pool = Assert.Single(page["pools"]!.AsArray())!;
        Assert.Equal("(default)", (string)pool["name"]!);
        Assert.StartsWith("Holders", (string)pool["firstSection"]!, StringComparison.Ordinal);
        var holders = pool["holders"]!.AsArray();
        Assert.Equal(2, holders.Count);
        Assert.Contains(nameof(Page_TwoHoldersOneLeakOneRefusedOpen_RendersHoldersLeaksAndChartsWithoutConsoleErrors), (string)holders[0]![0]!, StringComparison.Ordinal);
        Assert.Contains(nameof(OpenForInvoicesAsync), (string)holders[1]![0]!, StringComparison.Ordinal);
        var leak = Assert.Single(pool["leaks"]!.AsArray())!;
        Assert.Equal("not_disposed_before_scope_end", (string)leak[1]!);
        Assert.True((bool)pool["leasedChart"]!);
        Assert.True((bool)pool["leasedPath"]!);
        Assert.True((bool)pool["failuresChart"]!);
        Assert.True((double)pool["svgWidth"]! > 100);
        Assert.Equal(["connection_refused"], pool["failureKinds"]!.AsArray().Select(kind => (string)kind!));
        Assert.True(new FileInfo(screenshot).Length > 10_000, "screenshot missing or empty: " + screenshot);
    }

    private static ValueTask<Microsoft.Data.SqlClient.SqlConnection> OpenForInvoicesAsync(SafeSqlDataSource dataSource) => dataSource.OpenConnectionAsync();

    /// <summary>The browser and the driver script, or a skip (SAFESQL_SKIP_BROWSER=1) or a failure that says what to install.</summary>
    private static (string Chromium, string Script) BrowserOrSkip()
    {
        var chromium = Environment.GetEnvironmentVariable("SAFESQL_CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";
        var skip = Environment.GetEnvironmentVariable("SAFESQL_SKIP_BROWSER") == "1";
        if (!File.Exists(chromium))
        {
            Skip.If(skip, $"SAFESQL_SKIP_BROWSER=1 and no Chromium at {chromium}.");
            Assert.Fail($"No Chromium at {chromium}: install Debian's package (apt-get install chromium; eng/test.sh does), set SAFESQL_CHROMIUM to another Chromium, or set SAFESQL_SKIP_BROWSER=1 to skip the browser tests.");
        }

        var browserFolder = Path.Combine(RepositoryRoot(), "eng", "browser");
        if (!Directory.Exists(Path.Combine(browserFolder, "node_modules", "playwright-core")))
        {
            Skip.If(skip, "SAFESQL_SKIP_BROWSER=1 and playwright-core is not installed.");
            Assert.Fail($"playwright-core is not installed in {browserFolder}: run 'npm ci' there (eng/test.sh step 1 does), or set SAFESQL_SKIP_BROWSER=1 to skip the browser tests.");
        }

        return (chromium, Path.Combine(browserFolder, "check-page.mjs"));
    }

    private static async Task<JsonNode> RunBrowserAsync(string chromium, string script, Uri url, string screenshot, params string[] headers)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Path.GetDirectoryName(script)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(url.ToString());
        start.ArgumentList.Add(screenshot);
        foreach (var header in headers)
        {
            start.ArgumentList.Add(header);
        }

        start.Environment["SAFESQL_CHROMIUM"] = chromium;
        start.Environment["SAFESQL_BROWSER_TIMEOUT_MS"] = ((int)(s_browserTimeout.TotalMilliseconds - 10_000)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(s_browserTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"The browser did not finish within {s_browserTimeout.TotalSeconds} s: {await stderr}");
        }

        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"check-page.mjs exited with {process.ExitCode}: {await stderr}{output}");
        return JsonNode.Parse(output.Trim().Split('\n')[^1])!;
    }

    private static string ScreenshotPath(string testName)
    {
        var folder = Path.Combine(RepositoryRoot(), "artifacts", "browser");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, testName + ".png");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "SafeSql.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"SafeSql.sln not found above {AppContext.BaseDirectory}.");
    }
}

using System.Diagnostics;
using System.Text.RegularExpressions;

using Microsoft.Data.SqlClient;

namespace SafeSql.Samples.Tests.Demo;

/// <summary>The demo's other commands, run as a process: <c>check</c>, <c>serve</c>, one scenario as a table, the usage.</summary>
[Collection(DemoProcessGroup.Name)]
public sealed partial class DemoCommandTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Check_AcceptedString_ExitsZeroAndShowsTheNormalizedStringWithoutPassword()
    {
        // Arrange
        const string connectionString = "Server=tcp:db.example.com,1433;Database=Orders;User ID=app;Password=Sup3r-Secret;Encrypt=True";

        // Act
        var run = await DemoProcess.RunAsync(s_timeout, "check", connectionString);

        // Assert
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("Accepted: no findings.", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(
            "Normalized (every open shares one pool): Data Source=tcp:db.example.com,1433;Initial Catalog=Orders;User ID=app;Password=*****;",
            run.StandardOutput,
            StringComparison.Ordinal);
        Assert.DoesNotContain("Sup3r-Secret", run.StandardOutput + run.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Password")]
    [InlineData("Pwd")]
    public async Task Check_PoolingFalse_ExitsTwoWithTheRuleAndNeverThePassword(string passwordKeyword)
    {
        // Arrange
        var connectionString = $"Server=tcp:db.example.com,1433;User ID=app;{passwordKeyword}=Sup3r-Secret;Pooling=false;Max Pool Size=40000";

        // Act
        var run = await DemoProcess.RunAsync(s_timeout, "check", connectionString);

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("Refused: SAFESQL004, SAFESQL009 (2 errors, 0 warnings).", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("  SAFESQL004 (Error) Pooling=false turns connection pooling off.", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("    Fix:    Remove Pooling=false (pooling is on by default)", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("  SAFESQL009 (Error) Max Pool Size=40000 is above the limit of 1000", run.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("Sup3r-Secret", run.StandardOutput + run.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Normalized", run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_MalformedString_ExitsTwoWithoutEchoingIt()
    {
        // Arrange
        const string connectionString = "Server=db;Password=Sup3r-Secret;=oops";

        // Act
        var run = await DemoProcess.RunAsync(s_timeout, "check", connectionString);

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("Refused: SAFESQL001", run.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("Sup3r-Secret", run.StandardOutput + run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Main_UnknownArgument_ExitsOneWithUsage()
    {
        // Act
        var run = await DemoProcess.RunAsync(s_timeout, "--frobnicate");

        // Assert
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Usage: SafeSql.Demo [--json]", run.StandardError, StringComparison.Ordinal);
        Assert.Equal(string.Empty, run.StandardOutput);
    }

    [Theory]
    [InlineData("--outage-seconds", "20")]                            // the option of the opt-in outage scenario, without it
    [InlineData("--scenario", "restart", "--outage-seconds", "20")]
    [InlineData("--scenario", "outage", "--outage-seconds", "4")]     // below 5 s
    [InlineData("--scenario", "outage", "--outage-seconds", "601")]   // above 10 minutes
    [InlineData("--scenario", "outage", "--outage-seconds", "1e2")]
    public async Task Main_OutageSecondsOutOfPlaceOrRange_ExitsOneWithUsageAndRunsNothing(params string[] arguments)
    {
        // Act
        var run = await DemoProcess.RunAsync(s_timeout, arguments);

        // Assert
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Usage: SafeSql.Demo [--json]", run.StandardError, StringComparison.Ordinal);
        Assert.Contains("--scenario outage [--outage-seconds 5-600]", run.StandardError, StringComparison.Ordinal);
        Assert.Equal(string.Empty, run.StandardOutput);
    }

    [Fact]
    public async Task Main_RealServerUnreachable_ExitsOneWithTheFailureKindAndNoPassword()
    {
        // Arrange: a port nothing listens on.
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        // Act
        var run = await DemoProcess.RunAsync(s_timeout, "--connection-string", $"Data Source=tcp:127.0.0.1,{port};User ID=app;Password=Sup3r-Secret;Encrypt=False;Connect Timeout=1");

        // Assert
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("The server given with --connection-string cannot be reached (ConnectionRefused): ", run.StandardError, StringComparison.Ordinal);
        Assert.Equal(string.Empty, run.StandardOutput);
        Assert.DoesNotContain("Sup3r-Secret", run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Main_RealServerStringRefused_ExitsTwoWithTheVerdict()
    {
        // Act
        var run = await DemoProcess.RunAsync(s_timeout, "--connection-string", "Data Source=tcp:127.0.0.1,1433;User ID=app;Password=Sup3r-Secret;Pooling=false");

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith(
            "The connection string given with --connection-string is refused by SafeSql's policy:" + Environment.NewLine + "Refused: SAFESQL004 (1 error, 0 warnings).",
            run.StandardError,
            StringComparison.Ordinal);
        Assert.DoesNotContain("Sup3r-Secret", run.StandardOutput + run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Main_HacksScenarioAsTable_PrintsEachRefusalAndTheVerdict()
    {
        // Act
        var run = await DemoProcess.RunAsync(s_timeout, "--scenario", "hacks");

        // Assert
        Assert.Equal(0, run.ExitCode);
        var output = run.StandardOutput;
        Assert.Contains("3. The connection-string hacks from the field", output, StringComparison.Ordinal);
        Assert.Matches(@"run\s+opens\s+errors by kind\s+failed calls\s+leaks reported\s+TCP connections\s+time", output);
        Assert.Matches(@"raw SqlClient\s+5\s+none\s+0\s+0\s+5\s+\d+\.\d s", output);
        Assert.Matches(@"SafeSql\s+0\s+none\s+0\s+0\s+0\s+\d+\.\d s", output);
        foreach (var line in new[] { "- Pooling=false -> SAFESQL004:", "- Connection Lifetime=1 -> SAFESQL005:", "- Connect Timeout=40000 -> SAFESQL008:", "- Max Pool Size=40000 -> SAFESQL009:", "- TrustServerCertificate=True -> SAFESQL013:" })
        {
            Assert.Contains(line, output, StringComparison.Ordinal);
        }

        Assert.Contains("Verdict: Raw SqlClient accepted all 5 hacks without a word; SafeSql refused 5 of 5 at startup, each with its reason", output, StringComparison.Ordinal);
        Assert.Matches(@"\n1 scenario in \d+\.\d s\.\n$", output);
    }

    [Fact]
    public async Task Serve_AnyPassword_ServesSqlClientUntilSigterm()
    {
        // Arrange
        var startInfo = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { DemoProcess.AssemblyPath, "serve", "--port", "0" })
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        try
        {
            var banner = await process.StandardOutput.ReadLineAsync().WaitAsync(s_timeout);
            var port = int.Parse(ListeningPort().Match(banner!).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            var certificateLine = await process.StandardOutput.ReadLineAsync().WaitAsync(s_timeout);
            var printed = (await process.StandardOutput.ReadLineAsync().WaitAsync(s_timeout))!;

            // Act: the printed string, as a user would paste it (with a password of their own): TLS, certificate pinned.
            Assert.StartsWith("  SqlClient: ", printed, StringComparison.Ordinal);
            var builder = new SqlConnectionStringBuilder(printed["  SqlClient: ".Length..]);
            var pinned = builder.ServerCertificate;
            var certificateExisted = File.Exists(pinned);
            builder.Password = "anything";
            builder.Pooling = false;
            await using (var connection = new SqlConnection(builder.ConnectionString))
            {
                await connection.OpenAsync();
                await using var command = new SqlCommand("SELECT 42", connection);
                Assert.Equal(42, await command.ExecuteScalarAsync());
            }

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await process.WaitForExitAsync().WaitAsync(s_timeout);
            var rest = await process.StandardOutput.ReadToEndAsync();

            // Assert
            Assert.Equal(0, process.ExitCode);
            Assert.Contains("(TDS 7.4 and 8.0, TLS with a self-signed certificate)", banner, StringComparison.Ordinal);
            Assert.Equal($"  Certificate: {pinned} (DER .cer, deleted when the server stops; SqlClient pins it with Server Certificate=<path>)", certificateLine);
            Assert.True(certificateExisted);
            Assert.Equal($"  SqlClient: Data Source=tcp:127.0.0.1,{port};User ID=sa;Password=<any>;Server Certificate={pinned};Connect Retry Count=0", printed);
            Assert.False(builder.TrustServerCertificate);
            Assert.Equal(SqlConnectionEncryptOption.Mandatory, builder.Encrypt);
            Assert.Contains($"  SqlClient, TDS 8.0: Data Source=tcp:127.0.0.1,{port};User ID=sa;Password=<any>;Server Certificate={pinned};Connect Retry Count=0;Encrypt=Strict", rest, StringComparison.Ordinal);
            Assert.Contains("Stopped: 1 TCP connections, 1 logins (0 with an access token), 0 failed logins, 1 batches, 0 RPCs.", rest, StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningPort();
}

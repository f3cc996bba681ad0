using System.Globalization;
using System.Net;
using System.Net.Sockets;

using SafeSql.Testing;

namespace SafeSql.Tool.Tests;

/// <summary><c>safesql doctor</c> run as a process against the loopback server (real TCP, TLS and SqlClient) and a closed port.</summary>
public sealed class DoctorCommandTests
{
    private const string Secret = "Sup3r-Secret-16";

    /// <summary>The PRELOGIN ENCRYPTION answer ENCRYPT_ON (MS-TDS 2.2.6.5), which SQL Server gives a client that requires TLS.</summary>
    private const int PreLoginEncryptOn = 1;

    private static readonly string[] s_everyCheck =
    [
        "policy", "dns", "tcp-connect", "prelogin", "tls", "login",
        "ephemeral-ports", "connection-rate", "tcp-tw-reuse", "tcp-fin-timeout",
        "somaxconn", "listen-queue", "listen-overflows",
        "max-pool-size", "pool-blocking-period",
    ];

    [Fact]
    public async Task Doctor_LoopbackServerJson_EveryCheckOkAndExitZero()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();

        // Act
        var run = await ToolProcess.RunAsync("doctor", server.ConnectionString, "--json");

        // Assert: every check, in report order, ok.
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.StandardOutput} {run.StandardError}");
        using var report = new DoctorReportJson(run.StandardOutput);
        Assert.Equal(s_everyCheck, report.Ids);
        Assert.All(report.Checks, check => Assert.True(DoctorReportJson.Status(check) == "ok", DoctorReportJson.Summary(check)));
        Assert.Equal("ok", report.Root.GetProperty("status").GetString());
        Assert.Equal(ToolProcess.SqlClientVersion, report.Root.GetProperty("sqlClientVersion").GetString());
        Assert.Equal($"tcp:127.0.0.1,{server.Port}", report.Root.GetProperty("dataSource").GetString());

        // The figures are the server's: its certificate (pinned by the connection string), its listen backlog, one login.
        var tls = report.Check("tls");
        Assert.Equal(server.Certificate!.Subject, DoctorReportJson.Figure(tls, "subject").GetString());
        Assert.True(DoctorReportJson.Figure(tls, "accepted").GetBoolean());
        Assert.EndsWith("matches the certificate pinned with Server Certificate.", DoctorReportJson.Summary(tls), StringComparison.Ordinal);
        Assert.Equal($"127.0.0.1:{server.Port}", DoctorReportJson.Figure(report.Check("tcp-connect"), "endPoint").GetString());
        Assert.StartsWith("PRELOGIN answered in ", DoctorReportJson.Summary(report.Check("prelogin")), StringComparison.Ordinal);
        Assert.Equal(PreLoginEncryptOn, DoctorReportJson.Figure(report.Check("prelogin"), "encryption").GetInt32());
        var somaxconn = int.Parse(File.ReadAllText("/proc/sys/net/core/somaxconn").Trim(), CultureInfo.InvariantCulture);
        Assert.Equal(Math.Min(new LoopbackSqlServerOptions().ListenBacklog, somaxconn), DoctorReportJson.Figure(report.Check("listen-queue"), "backlog").GetInt32());
        Assert.Equal(somaxconn, DoctorReportJson.Figure(report.Check("somaxconn"), "somaxconn").GetInt32());
        Assert.Equal(1, server.Counters.Logins);
        Assert.DoesNotContain(LoopbackSqlServerOptions.DefaultPassword, run.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_LoopbackServerTable_PlainTableWithVerdictAndExitZero()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();

        // Act: output redirected (a pipe), as in a CI log.
        var run = await ToolProcess.RunAsync("doctor", server.ConnectionString);

        // Assert: a table without colour codes, one row per check, and the verdict.
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.StandardOutput} {run.StandardError}");
        Assert.StartsWith($"safesql doctor: Data Source=tcp:127.0.0.1,{server.Port}, Microsoft.Data.SqlClient {ToolProcess.SqlClientVersion}\n", run.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', run.StandardOutput);
        foreach (var id in s_everyCheck)
        {
            Assert.Matches($@"│ [a-z]+ +│ {id} +│ ok +│", run.StandardOutput);
        }

        Assert.EndsWith($"Verdict: ok: 0 problems, 0 warnings, {s_everyCheck.Length} ok (exit code 0).\n", run.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(LoopbackSqlServerOptions.DefaultPassword, run.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_EncryptStrict_TlsFirstWithTds8AndExitZero()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();

        // Act: TDS 8.0, TLS before PRELOGIN (ALPN tds/8.0).
        var run = await ToolProcess.RunAsync("doctor", server.ConnectionString + ";Encrypt=Strict", "--json");

        // Assert
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.StandardOutput} {run.StandardError}");
        using var report = new DoctorReportJson(run.StandardOutput);
        Assert.Contains("encryption TDS 8.0 (Encrypt=Strict): TLS before PRELOGIN", DoctorReportJson.Summary(report.Check("prelogin")), StringComparison.Ordinal);
        Assert.True(DoctorReportJson.Figure(report.Check("tls"), "accepted").GetBoolean());
        Assert.Equal("ok", DoctorReportJson.Status(report.Check("login")));
        Assert.Equal(1, server.Counters.Logins);
    }

    [Fact]
    public async Task Doctor_SelfSignedCertificateNotPinned_TlsProblemBeforeLoginAndExitTwo()
    {
        // Arrange: the loopback server's self-signed certificate, neither pinned nor trusted (SqlClient's default Encrypt=True).
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = $"Data Source=tcp:127.0.0.1,{server.Port};User ID=sa;Password={LoopbackSqlServerOptions.DefaultPassword}";

        // Act
        var run = await ToolProcess.RunAsync("doctor", connectionString, "--json");

        // Assert: the doctor says SqlClient will refuse the certificate, and does not try to log in.
        Assert.Equal(2, run.ExitCode);
        using var report = new DoctorReportJson(run.StandardOutput);
        var tls = report.Check("tls");
        Assert.Equal("problem", DoctorReportJson.Status(tls));
        Assert.False(DoctorReportJson.Figure(tls, "accepted").GetBoolean());
        Assert.EndsWith("NOT valid for 127.0.0.1 on this machine (RemoteCertificateChainErrors): SqlClient will refuse it.", DoctorReportJson.Summary(tls), StringComparison.Ordinal);
        Assert.DoesNotContain("login", report.Ids);
        Assert.Equal(0, server.Counters.Logins);
    }

    [Fact]
    public async Task Doctor_ClosedPort_ProblemConnectionRefusedAndExitTwo()
    {
        // Arrange: a port nothing listens on.
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        // Act
        var run = await ToolProcess.RunAsync("doctor", $"Data Source=tcp:127.0.0.1,{port};User ID=app;Password={Secret};Connect Timeout=5", "--json");

        // Assert: the TCP step fails as SafeSql classifies it, and the later steps are not tried.
        Assert.Equal(2, run.ExitCode);
        using var report = new DoctorReportJson(run.StandardOutput);
        var connect = report.Check("tcp-connect");
        Assert.Equal("problem", DoctorReportJson.Status(connect));
        Assert.Equal("ConnectionRefused", DoctorReportJson.Figure(connect, "kind").GetString());
        Assert.Equal("ConnectionRefused", DoctorReportJson.Figure(connect, "socketError").GetString());
        Assert.Matches($@"^TCP connect to 127\.0\.0\.1:{port} failed after \d+\.\d ms: ConnectionRefused\. SafeSql: ConnectionRefused\. The later steps were not tried\.$", DoctorReportJson.Summary(connect));
        Assert.DoesNotContain("prelogin", report.Ids);
        Assert.DoesNotContain("login", report.Ids);
        Assert.Equal("problem", report.Root.GetProperty("status").GetString());
        Assert.DoesNotContain(Secret, run.AllOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Connect Timeout=99999999999")] // OverflowException
    [InlineData("Context Connection=true")] // InvalidOperationException
    [InlineData("Encrypt=" + Secret)] // FormatException quoting the value
    public async Task Doctor_StringSqlClientRefuses_ParseProblemWithoutEchoingItAndExitTwo(string entry)
    {
        // Arrange: a string SqlClient's builder throws for, each with a different exception type; the password is there too.
        var connectionString = $"Data Source=tcp:127.0.0.1,1433;User ID=app;Password={Secret};{entry}";

        // Act
        var run = await ToolProcess.RunAsync("doctor", connectionString, "--json");

        // Assert: a finding, not a crash; nothing after the parse was tried; neither the password nor SqlClient's message shown.
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.AllOutput.Replace(Secret, "<secret>", StringComparison.Ordinal)}");
        using var report = new DoctorReportJson(run.StandardOutput);
        var parse = report.Check("parse");
        Assert.Equal("problem", DoctorReportJson.Status(parse));
        Assert.Equal("SqlClient cannot read this connection string, so nothing else was checked.", DoctorReportJson.Summary(parse));
        Assert.DoesNotContain("dns", report.Ids);
        Assert.Equal(string.Empty, run.StandardError);
        Assert.DoesNotContain(Secret, run.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_PoolingFalse_ProblemWithRuleIdAndExitTwo()
    {
        // Arrange: a hack from the field on a string that otherwise works.
        await using var server = await LoopbackSqlServer.StartAsync();

        // Act
        var run = await ToolProcess.RunAsync("doctor", server.ConnectionString + ";Pooling=false", "--json");

        // Assert: the policy's rule, by id, is the problem; the endpoint itself is fine.
        Assert.Equal(2, run.ExitCode);
        using var report = new DoctorReportJson(run.StandardOutput);
        var rule = report.Check("SAFESQL004");
        Assert.Equal("problem", DoctorReportJson.Status(rule));
        Assert.Equal("Pooling=false turns connection pooling off.", DoctorReportJson.Summary(rule));
        Assert.StartsWith("Remove Pooling=false (pooling is on by default)", rule.GetProperty("fix").GetString(), StringComparison.Ordinal);
        Assert.Equal("ok", DoctorReportJson.Status(report.Check("login")));
        Assert.Equal("warning", DoctorReportJson.Status(report.Check("connection-rate")));
        Assert.StartsWith("Pooling=false: every open is a new TCP connection", DoctorReportJson.Summary(report.Check("connection-rate")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Password", false)]
    [InlineData("Password", true)]
    [InlineData("Pwd", false)]
    [InlineData("Pwd", true)]
    public async Task Doctor_PasswordInString_NeverPrintedWhetherLoginSucceedsOrFails(string keyword, bool json)
    {
        // Arrange: a server that requires this password.
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Password = Secret });
        string ConnectionString(string password) => $"Data Source=tcp:127.0.0.1,{server.Port};User ID=sa;{keyword}={password};Server Certificate={server.CertificatePath}";
        string[] Arguments(string password) => json ? ["doctor", ConnectionString(password), "--json"] : ["doctor", ConnectionString(password)];

        // Act
        var accepted = await ToolProcess.RunAsync(Arguments(Secret));
        var refused = await ToolProcess.RunAsync(Arguments(Secret + "-wrong"));

        // Assert
        Assert.True(accepted.ExitCode == 0, $"exit {accepted.ExitCode}: {accepted.AllOutput.Replace(Secret, "<secret>", StringComparison.Ordinal)}");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("AuthenticationFailure", refused.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Login failed for user 'sa'", refused.StandardOutput, StringComparison.Ordinal);
        Assert.False(accepted.AllOutput.Contains(Secret, StringComparison.Ordinal), "The password was printed (login accepted).");
        Assert.False(refused.AllOutput.Contains(Secret, StringComparison.Ordinal), "The password was printed (login refused).");
    }

    [Fact]
    public async Task Doctor_SecondConnectionString_UsageErrorWithoutEchoingIt()
    {
        // Act
        var run = await ToolProcess.RunAsync("doctor", "Server=tcp:db,1433;Password=" + Secret, "Server=tcp:db2;Password=" + Secret);

        // Assert
        Assert.Equal(64, run.ExitCode);
        Assert.Equal("doctor: unexpected argument. Usage: safesql doctor \"<connection string>\" [--json] [--server-side]\n", run.StandardError);
        Assert.Equal(string.Empty, run.StandardOutput);
    }
}

using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Data.SqlClient;
using SafeSql.Testing;
using SafeSql.Testing.Tests;

namespace SafeSql.Tool.Tests;

/// <summary><c>safesql serve --federated-auth</c> run as a process, logged in to by the real SqlClient with access tokens.</summary>
public sealed partial class ServeCommandTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Serve_FederatedAuth_AcceptsTokenAheadOfExpRefusesExpiredAndSqlLoginsNeverPrintsToken(bool async)
    {
        // Arrange
        var valid = LoopbackUnsignedJwt.Create("dev@contoso.example", DateTimeOffset.UtcNow.AddHours(1));
        var expired = LoopbackUnsignedJwt.Create("dev@contoso.example", DateTimeOffset.UtcNow.AddMinutes(-1));
        await using var serve = await ServeProcess.StartAsync("--federated-auth");
        var connectionString = serve.ConnectionString;

        // Act
        string? login;
        await using (var connection = new SqlConnection(connectionString) { AccessToken = valid })
        {
            await OpenAsync(connection, async);
            using var command = new SqlCommand("SELECT SUSER_SNAME()", connection);
            login = (string?)(async ? await command.ExecuteScalarAsync() : command.ExecuteScalar());
        }

        await using var expiredConnection = new SqlConnection(connectionString + ";Pooling=false") { AccessToken = expired };
        var expiredError = await Assert.ThrowsAsync<SqlException>(() => OpenAsync(expiredConnection, async));
        var sqlLogin = new SqlConnectionStringBuilder(connectionString) { UserID = "sa", Password = LoopbackSqlServerOptions.DefaultPassword, Pooling = false };
        await using var sqlConnection = new SqlConnection(sqlLogin.ConnectionString);
        var sqlError = await Assert.ThrowsAsync<SqlException>(() => OpenAsync(sqlConnection, async));
        var run = await serve.StopAsync();

        // Assert
        Assert.Equal("dev@contoso.example", login);
        Assert.Equal(18456, expiredError.Number);
        Assert.Equal(233, expiredError.State);
        Assert.Equal("Login failed for user '<token-identified principal>'. Token is expired.", expiredError.Errors[0].Message);
        Assert.Equal(18456, sqlError.Number);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("NO SIGNATURE, ISSUER OR AUDIENCE CHECK", run.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Stopped: 3 TCP connections, 1 logins (1 with an access token), 2 failed logins,", run.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(valid, run.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(expired, run.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(LoopbackSqlServerOptions.DefaultPassword, run.AllOutput, StringComparison.Ordinal);
    }

    /// <summary>The independent client of the check: tedious (eng/tedious-check/check.js) against the served server.</summary>
    [NodeFact]
    public async Task Serve_FederatedAuth_TediousLogsInWithValidTokenAndIsRefusedWithExpired()
    {
        // Arrange
        var valid = LoopbackUnsignedJwt.Create("dev@contoso.example", DateTimeOffset.UtcNow.AddHours(1));
        var expired = LoopbackUnsignedJwt.Create("dev@contoso.example", DateTimeOffset.UtcNow.AddMinutes(-1));
        await using var serve = await ServeProcess.StartAsync("--federated-auth");
        var port = new SqlConnectionStringBuilder(serve.ConnectionString).DataSource.Split(',')[1];
        var directory = NodeFactAttribute.CheckDirectory;
        Assert.True(
            Directory.Exists(Path.Combine(directory, "node_modules", "tedious")),
            $"tedious is not installed in {directory}: run ./eng/test.sh, which installs it (npm ci in eng/tedious-check).");

        // Act
        var accepted = await ExternalProcess.RunAsync(NodeFactAttribute.Node!, ["check.js"], string.Empty, new() { ["SAFESQL_PORT"] = port, ["SAFESQL_TOKEN"] = valid }, directory);
        var refused = await ExternalProcess.RunAsync(NodeFactAttribute.Node!, ["check.js"], string.Empty, new() { ["SAFESQL_PORT"] = port, ["SAFESQL_TOKEN"] = expired }, directory);
        var run = await serve.StopAsync();

        // Assert
        Assert.True(accepted.ExitCode == 0, $"check.js exited with {accepted.ExitCode}: {accepted.Output} {accepted.Error}");
        Assert.Contains("\"login\":\"dev@contoso.example\"", accepted.Output, StringComparison.Ordinal);
        Assert.True(refused.ExitCode == 2, $"check.js exited with {refused.ExitCode}: {refused.Output} {refused.Error}");
        Assert.Contains("\"number\":18456,\"state\":233,", refused.Output, StringComparison.Ordinal);
        Assert.Contains("1 logins (1 with an access token), 1 failed logins,", run.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(valid, run.AllOutput + accepted.Output + accepted.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(expired, run.AllOutput + refused.Output + refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_FederatedAuthWithPassword_IsAUsageErrorThatDoesNotEchoIt()
    {
        // Act
        var run = await ToolProcess.RunAsync("serve", "--federated-auth", "--password", "s3cret-Value");

        // Assert
        Assert.Equal(64, run.ExitCode); // EX_USAGE
        Assert.Contains("--federated-auth requires an access token at every login", run.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-Value", run.AllOutput, StringComparison.Ordinal);
    }

    private static async Task OpenAsync(SqlConnection connection, bool async)
    {
        if (async)
        {
            await connection.OpenAsync();
        }
        else
        {
            connection.Open();
        }
    }

    [GeneratedRegex(@"^  SqlClient: (?<cs>.*) \(set SqlConnection\.AccessToken", RegexOptions.Multiline)]
    private static partial Regex SqlClientLine();

    /// <summary><c>safesql serve</c> running in the background until <see cref="StopAsync"/> sends it SIGINT (Ctrl+C).</summary>
    private sealed class ServeProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly Task _readOutput;
        private readonly Task<string> _readError;

        private ServeProcess(Process process)
        {
            _process = process;
            _readError = process.StandardError.ReadToEndAsync();
            _readOutput = Task.Run(async () =>
            {
                while (await process.StandardOutput.ReadLineAsync() is { } line)
                {
                    lock (_output)
                    {
                        _output.AppendLine(line);
                    }
                }
            });
        }

        public string ConnectionString { get; private set; } = string.Empty;

        public static async Task<ServeProcess> StartAsync(params string[] arguments)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(ToolProcess.AssemblyPath);
            start.ArgumentList.Add("serve");
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            var serve = new ServeProcess(Process.Start(start)!);
            var deadline = Environment.TickCount64 + 60_000;
            while (true)
            {
                var match = SqlClientLine().Match(serve.Output);
                if (match.Success)
                {
                    serve.ConnectionString = match.Groups["cs"].Value;
                    return serve;
                }

                if (serve._process.HasExited || Environment.TickCount64 > deadline)
                {
                    var run = await serve.StopAsync();
                    throw new InvalidOperationException($"safesql serve did not print its connection string: {run.AllOutput}");
                }

                await Task.Delay(50);
            }
        }

        private string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        /// <summary>Sends SIGINT, as Ctrl+C does, and waits for the process to exit (killed after 60 s).</summary>
        public async Task<ToolRun> StopAsync()
        {
            if (!_process.HasExited)
            {
                using var kill = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync();
            }

            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await _process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            await _readOutput;
            return new ToolRun(_process.ExitCode, Output, await _readError);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                await StopAsync();
            }

            _process.Dispose();
        }
    }
}

using System.Text.Json;

namespace SafeSql.Testing.Tests;

/// <summary>
/// An independent TDS client nobody here wrote, tedious (Node's TDS driver, npm), against the loopback server with federated
/// authentication as <c>safesql serve --federated-auth</c> configures it (an unsigned JWT validated by its <c>exp</c>): its
/// <c>azure-active-directory-access-token</c> authentication with a valid and an expired token, and SQL authentication.
/// The client is eng/tedious-check/check.js; ./eng/test.sh installs its locked packages (npm ci).
/// </summary>
public sealed class TediousInteropTests
{
    private const string Identity = "dev@contoso.example";

    [NodeFact]
    public async Task Tedious_ValidAccessToken_LogsInAsTheTokensIdentity()
    {
        // Arrange
        await using var server = await StartAsync(allowSqlAuthentication: false);
        var token = LoopbackUnsignedJwt.Create(Identity, DateTimeOffset.UtcNow.AddHours(1));

        // Act
        var (exitCode, result, output) = await RunCheckAsync(server, new() { ["SAFESQL_TOKEN"] = token });

        // Assert
        Assert.True(exitCode == 0, $"check.js exited with {exitCode}: {output}");
        Assert.Equal(Identity, result.GetProperty("login").GetString());
        Assert.Equal(1, server.Counters.AccessTokenLogins);
        var login = Assert.Single(server.Logins);
        Assert.True(login.UsedAccessToken);
        Assert.Equal(LoopbackConnectionEncryption.Tls, login.Encryption);
        Assert.DoesNotContain(token, output, StringComparison.Ordinal);
    }

    [NodeFact]
    public async Task Tedious_ExpiredAccessToken_IsRefused18456State233()
    {
        // Arrange
        await using var server = await StartAsync(allowSqlAuthentication: false);
        var token = LoopbackUnsignedJwt.Create(Identity, DateTimeOffset.UtcNow.AddMinutes(-1));

        // Act
        var (exitCode, result, output) = await RunCheckAsync(server, new() { ["SAFESQL_TOKEN"] = token });

        // Assert
        Assert.True(exitCode == 2, $"check.js exited with {exitCode}: {output}");
        Assert.Equal(18456, result.GetProperty("number").GetInt32());
        Assert.Equal(233, result.GetProperty("state").GetInt32());
        Assert.Equal("Login failed for user '<token-identified principal>'. Token is expired.", result.GetProperty("message").GetString());
        Assert.Equal(0, server.Counters.Logins);
        Assert.Equal(1, server.Counters.FailedLogins);
        Assert.DoesNotContain(token, output, StringComparison.Ordinal);
    }

    [NodeFact]
    public async Task Tedious_SqlAuthentication_LogsInBesideTokens()
    {
        // Arrange
        await using var server = await StartAsync(allowSqlAuthentication: true);

        // Act
        var (exitCode, result, output) = await RunCheckAsync(server, new()
        {
            ["SAFESQL_USER"] = LoopbackSqlServerOptions.DefaultUserName,
            ["SAFESQL_PASSWORD"] = LoopbackSqlServerOptions.DefaultPassword,
        });

        // Assert
        Assert.True(exitCode == 0, $"check.js exited with {exitCode}: {output}");
        Assert.Equal(LoopbackSqlServerOptions.DefaultUserName, result.GetProperty("login").GetString());
        Assert.Equal(1, server.Counters.Logins);
        Assert.Equal(0, server.Counters.AccessTokenLogins);
        Assert.False(Assert.Single(server.Logins).UsedAccessToken);
    }

    private static Task<LoopbackSqlServer> StartAsync(bool allowSqlAuthentication) =>
        LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions
        {
            FederatedAuthentication = new LoopbackFederatedAuthenticationOptions(LoopbackUnsignedJwt.CreateValidator())
            {
                AllowSqlAuthentication = allowSqlAuthentication,
            },
        });

    private static async Task<(int ExitCode, JsonElement Result, string Output)> RunCheckAsync(LoopbackSqlServer server, Dictionary<string, string> environment)
    {
        var directory = NodeFactAttribute.CheckDirectory;
        Assert.True(
            Directory.Exists(Path.Combine(directory, "node_modules", "tedious")),
            $"tedious is not installed in {directory}: run ./eng/test.sh, which installs it (npm ci in eng/tedious-check).");
        environment["SAFESQL_PORT"] = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (exitCode, output, error) = await ExternalProcess.RunAsync(NodeFactAttribute.Node!, ["check.js"], string.Empty, environment, directory);
        var lastLine = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.True(lastLine is not null && lastLine.StartsWith('{'), $"check.js printed no result (exit {exitCode}): {output} {error}");
        using var json = JsonDocument.Parse(lastLine);
        return (exitCode, json.RootElement.Clone(), output + error);
    }
}

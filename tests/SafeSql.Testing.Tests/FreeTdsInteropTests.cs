namespace SafeSql.Testing.Tests;

/// <summary>An independent TDS client (FreeTDS <c>tsql</c>, Debian package freetds-bin) against the loopback server.</summary>
public sealed class FreeTdsInteropTests
{
    /// <remarks>FreeTDS's <c>encryption</c> setting maps onto the PRELOGIN ENCRYPTION byte: <c>off</c> sends ENCRYPT_NOT_SUP (no TLS),
    /// <c>request</c> sends ENCRYPT_OFF (the server answers OFF: TLS for LOGIN7 only), <c>require</c> sends ENCRYPT_ON (TLS 1.2 for
    /// the whole connection, the handshake inside PRELOGIN packets; GnuTLS in Debian's build).</remarks>
    [Theory]
    [InlineData("off", LoopbackConnectionEncryption.None, false)]
    [InlineData("request", LoopbackConnectionEncryption.LoginOnly, false)]
    [InlineData("require", LoopbackConnectionEncryption.Tls, false)]
    [InlineData("off", LoopbackConnectionEncryption.None, true)]
    [InlineData("require", LoopbackConnectionEncryption.Tls, true)]
    public async Task Tsql_SelectOne_PrintsOne(string encryption, LoopbackConnectionEncryption expected, bool federatedAuthentication)
    {
        // Arrange: with federated authentication on, SQL authentication keeps working beside tokens (FreeTDS sends no
        // FEDAUTHREQUIRED, so its PRELOGIN reply is unchanged).
        var tsql = ExternalProcess.FindOnPath("tsql");
        Assert.True(tsql is not null, "FreeTDS tsql was not found on PATH: run ./eng/test.sh, which installs the Debian package freetds-bin (apt-get install freetds-bin).");
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions
        {
            FederatedAuthentication = federatedAuthentication ? new LoopbackFederatedAuthenticationOptions(LoopbackUnsignedJwt.CreateValidator()) : null,
        });
        var config = Path.Combine(Path.GetTempPath(), $"safesql-freetds-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(config, $"[global]\n\ttds version = 7.4\n\tencryption = {encryption}\n");
        try
        {
            // Act
            var (exitCode, output, error) = await ExternalProcess.RunAsync(
                tsql,
                ["-H", "127.0.0.1", "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", LoopbackSqlServerOptions.DefaultUserName, "-P", LoopbackSqlServerOptions.DefaultPassword, "-o", "q"],
                "SELECT 1\ngo\nSELECT N'héllo' AS greeting, @@SPID\ngo\nexit\n",
                new Dictionary<string, string> { ["TDSVER"] = "7.4", ["FREETDSCONF"] = config });

            // Assert
            Assert.True(exitCode == 0, $"tsql exited with {exitCode}: {error}");
            var lines = output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("1", lines);
            Assert.Contains("héllo\t51", lines);
            Assert.Equal(1, server.Counters.Logins);
            Assert.InRange(server.Counters.Batches, 2, 3); // ours, plus "select @@spid" when this FreeTDS build asks for its SPID
            var login = Assert.Single(server.Logins);
            Assert.Equal(LoopbackSqlServerOptions.DefaultUserName, login.UserName);
            Assert.Equal(expected, login.Encryption);
            Assert.Equal(expected == LoopbackConnectionEncryption.None ? 0 : 1, server.Counters.TlsHandshakes);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task Tsql_WrongPassword_ReportsLoginFailed18456()
    {
        // Arrange
        var tsql = ExternalProcess.FindOnPath("tsql");
        Assert.True(tsql is not null, "FreeTDS tsql was not found on PATH: run ./eng/test.sh, which installs the Debian package freetds-bin (apt-get install freetds-bin).");
        await using var server = await LoopbackSqlServer.StartAsync();

        // Act
        var (exitCode, output, error) = await ExternalProcess.RunAsync(
            tsql,
            ["-H", "127.0.0.1", "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", "sa", "-P", "wrong", "-o", "q"],
            "exit\n",
            new Dictionary<string, string> { ["TDSVER"] = "7.4" });

        // Assert
        Assert.NotEqual(0, exitCode);
        Assert.Contains("Msg 18456 (severity 14, state 1)", output + error, StringComparison.Ordinal);
        Assert.Contains("Login failed for user 'sa'.", output + error, StringComparison.Ordinal);
    }
}

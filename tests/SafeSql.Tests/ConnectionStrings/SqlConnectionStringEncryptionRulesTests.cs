using SafeSql.ConnectionStrings;

namespace SafeSql.Tests.ConnectionStrings;

/// <summary>
/// SAFESQL013 (<c>TrustServerCertificate=True</c>) and SAFESQL014 (<c>Encrypt=False</c>/<c>Optional</c>): refused or warned by
/// where the server is, configurable, and never quoting the password.
/// </summary>
public sealed class SqlConnectionStringEncryptionRulesTests
{
    private const string Secret = "Zq7-Hunter2;Xv9=Kp4";
    private const string Remote = "Data Source=tcp:db.example.com,1433;User ID=app;Password=\"" + Secret + "\";Initial Catalog=Orders";
    private const string Loopback = "Data Source=tcp:127.0.0.1,1433;User ID=app;Password=\"" + Secret + "\";Initial Catalog=Orders";

    private const string TrustReason =
        "It keeps TLS but accepts any certificate, so the client no longer knows it talks to its server: whoever can intercept the connection (a compromised router, a DNS or ARP spoof, a rogue access point) can present a certificate of their own and read the password and every row. It is the usual workaround for \"The certificate chain was issued by an authority that is not trusted\", which SafeSql explains as an EncryptionFailure.";

    private const string TrustSource =
        "Source: https://learn.microsoft.com/sql/connect/ado-net/encryption-and-certificate-validation (\"Transport Security Layer (TLS) can be made secure only with certificate validation\") and https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnectionstringbuilder.trustservercertificate (\"bypass walking the certificate chain to validate trust\")";

    private const string VerifiableFix =
        "make the certificate verifiable: install the issuing CA's certificate on this machine, or pin the server's certificate with Server Certificate=<path to its .cer> (SqlClient 6.0.1+), and set HostNameInCertificate when connecting by another name than the certificate's.";

    [Theory]
    [InlineData("User ID=app;Password=Zq7;Data Source=tcp:Xv9Kp4host,1433;Encrypt=Optional", "SAFESQL014")]
    [InlineData("User ID=app;Password=Zq7;Data Source=tcp:Xv9Kp4host,1433;TrustServerCertificate=True", "SAFESQL013")]
    public void Validate_DataSourceAfterAnUnquotedPassword_NamesNoHost(string connectionString, string ruleId)
    {
        // Act: the Data Source may be the rest of a password that contains ';' (found by the policy fuzz property).
        var result = SqlConnectionStringPolicy.Validate(connectionString);

        // Assert
        var finding = Assert.Single(result.Findings, f => f.RuleId == ruleId);
        Assert.Contains("(not shown: it may be part of the password)", finding.Message, StringComparison.Ordinal);
        Assert.True(!finding.Message.Contains("Xv9Kp4", StringComparison.Ordinal), "The finding quotes a possible piece of the password (not shown).");
    }

    [Fact]
    public void Validate_TrustServerCertificateTowardsRemoteServer_RefusedBySafeSql013()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Remote + ";TrustServerCertificate=True");

        // Assert
        Assert.False(result.IsAccepted);
        Assert.Null(result.NormalizedConnectionString);
        var finding = Assert.Single(result.Findings);
        Assert.Same(SqlConnectionStringRules.TrustServerCertificate, finding.Rule);
        Assert.Equal(SqlConnectionStringFindingSeverity.Error, finding.Severity);
        Assert.Equal("Trust Server Certificate", finding.Keyword);
        Assert.Equal("True", finding.CurrentValue);
        Assert.Equal(
            "SAFESQL013: TrustServerCertificate=True (Trust Server Certificate) turns off the validation of the certificate of db.example.com, a server that is not on the loopback interface. "
                + TrustReason + " Fix: Remove TrustServerCertificate and " + VerifiableFix
                + " If this server truly cannot be authenticated, set SqlConnectionStringPolicyOptions.AllowTrustServerCertificate to true. " + TrustSource,
            finding.Message);
        Assert.Equal("Refused: SAFESQL013 (1 error, 0 warnings).", result.ToString());
    }

    [Theory]
    [InlineData("tcp:127.0.0.1,1433", "127.0.0.1")]
    [InlineData("127.0.0.2", "127.0.0.2")]
    [InlineData("localhost", "localhost")]
    [InlineData("tcp:[::1],1433", "::1")]
    [InlineData("(local)", "localhost")]
    [InlineData(".\\SQLEXPRESS", "localhost")]
    [InlineData("np:\\\\.\\pipe\\sql\\query", "localhost")]
    public void Validate_TrustServerCertificateTowardsLoopback_AcceptedWithSafeSql013Warning(string dataSource, string host)
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate($"Data Source={dataSource};User ID=app;Password=\"{Secret}\";Trust Server Certificate=true");

        // Assert
        Assert.True(result.IsAccepted);
        var finding = Assert.Single(result.Warnings);
        Assert.Equal("SAFESQL013", finding.RuleId);
        Assert.Equal(
            $"SAFESQL013: Trust Server Certificate=true turns off the validation of the server's certificate; {host} is on the loopback interface, so this is a warning. Traffic to the loopback interface does not leave this machine, so nobody can intercept it; but the same connection string pointed at another server would hand the password to whoever answers. Fix: Prefer pinning the server's certificate with Server Certificate=<path to its .cer> (SqlClient 6.0.1+), and never deploy this connection string against another server. {TrustSource}",
            finding.Message);
        Assert.Contains("Trust Server Certificate=True", result.NormalizedConnectionString, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tcp:db.example.com,1433", "db.example.com")]
    [InlineData("sqlhost\\INSTANCE", "sqlhost")]
    [InlineData("10.0.0.5", "10.0.0.5")]
    [InlineData("np:\\\\sqlhost\\pipe\\sql\\query", "sqlhost")]
    public void Validate_TrustServerCertificateTowardsNamedOrRemoteHost_Refused(string dataSource, string host)
    {
        // Act: host names other than localhost are not resolved, so even a name of this machine counts as remote.
        var result = SqlConnectionStringPolicy.Validate($"Data Source={dataSource};User ID=app;Password=\"{Secret}\";TrustServerCertificate=yes");

        // Assert
        var finding = Assert.Single(result.Errors);
        Assert.StartsWith($"SAFESQL013: TrustServerCertificate=yes (Trust Server Certificate) turns off the validation of the certificate of {host}, a server that is not on the loopback interface.", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_TrustServerCertificateAllowed_RemoteServerIsAWarning()
    {
        // Arrange
        var options = new SqlConnectionStringPolicyOptions { AllowTrustServerCertificate = true };

        // Act
        var result = SqlConnectionStringPolicy.Validate(Remote + ";TrustServerCertificate=True", options);

        // Assert
        Assert.True(result.IsAccepted);
        var finding = Assert.Single(result.Warnings);
        Assert.Equal(
            "SAFESQL013: TrustServerCertificate=True (Trust Server Certificate) turns off the validation of the certificate of db.example.com, a server that is not on the loopback interface (allowed by SqlConnectionStringPolicyOptions.AllowTrustServerCertificate, so this is a warning). "
                + TrustReason + " Fix: Remove TrustServerCertificate as soon as the server can be authenticated: " + VerifiableFix + " " + TrustSource,
            finding.Message);
    }

    [Fact]
    public void Validate_TrustServerCertificateOnLoopbackNotAllowed_LoopbackRefusedLikeARemoteServer()
    {
        // Arrange: a local server that stands in for a remote one (the demo, a staging copy).
        var options = new SqlConnectionStringPolicyOptions { AllowTrustServerCertificateOnLoopback = false };

        // Act
        var result = SqlConnectionStringPolicy.Validate(Loopback + ";TrustServerCertificate=True", options);

        // Assert
        var finding = Assert.Single(result.Errors);
        Assert.StartsWith("SAFESQL013: TrustServerCertificate=True (Trust Server Certificate) turns off the validation of the certificate of 127.0.0.1, which is on the loopback interface but judged like a remote server (SqlConnectionStringPolicyOptions.AllowTrustServerCertificateOnLoopback is false). It keeps TLS", finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("TrustServerCertificate=False")]
    [InlineData("Encrypt=Strict;TrustServerCertificate=True")]
    [InlineData("Encrypt=True")]
    [InlineData("Encrypt=Mandatory;Server Certificate=/etc/ssl/sql.cer")]
    public void Validate_ServerAuthenticatedAndEncrypted_NoEncryptionFinding(string settings)
    {
        // Act: under Encrypt=Strict SqlClient validates the certificate whatever TrustServerCertificate says.
        var result = SqlConnectionStringPolicy.Validate(Remote + ";" + settings);

        // Assert
        Assert.True(result.IsAccepted);
        Assert.Empty(result.Findings);
    }

    [Theory]
    [InlineData("Encrypt=False", "Encrypt=False")]
    [InlineData("Encrypt=Optional", "Encrypt=Optional")]
    [InlineData("encrypt=no", "Encrypt=no")]
    public void Validate_EncryptOffTowardsRemoteServer_AcceptedWithSafeSql014Warning(string setting, string shown)
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Remote + ";" + setting);

        // Assert
        Assert.True(result.IsAccepted);
        Assert.NotNull(result.NormalizedConnectionString);
        var finding = Assert.Single(result.Warnings);
        Assert.Same(SqlConnectionStringRules.EncryptionOff, finding.Rule);
        Assert.Equal("Encrypt", finding.Keyword);
        Assert.Equal(
            $"SAFESQL014: {shown} towards db.example.com, a server that is not on the loopback interface, leaves the connection unencrypted unless the server forces encryption. SqlClient then encrypts only the login, in a TLS session whose certificate it does not validate, and sends every query and every row after it in clear; against a server without encryption even the password travels in clear. SqlClient encrypts the whole connection by default (Encrypt=True since 4.0, Mandatory since 5.0). Fix: Remove Encrypt (the default, Mandatory, encrypts the whole connection and validates the certificate), or use Encrypt=Strict (TDS 8.0) against SQL Server 2022 and later; make the certificate verifiable (a trusted CA, or Server Certificate=<path to its .cer>). If the data may travel in clear on this network, set SqlConnectionStringPolicyOptions.AllowUnencryptedConnection to true. Source: https://learn.microsoft.com/sql/connect/ado-net/encryption-and-certificate-validation (\"SQL Server always encrypts network packets associated with logging in\") and https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnectionstringbuilder.encrypt",
            finding.Message);
    }

    [Fact]
    public void Validate_EncryptOffTowardsLoopbackOrAllowed_NoFinding()
    {
        // Act
        var loopback = SqlConnectionStringPolicy.Validate(Loopback + ";Encrypt=False");
        var allowed = SqlConnectionStringPolicy.Validate(Remote + ";Encrypt=False", new SqlConnectionStringPolicyOptions { AllowUnencryptedConnection = true });

        // Assert
        Assert.Empty(loopback.Findings);
        Assert.Empty(allowed.Findings);
    }

    [Fact]
    public void Validate_BothEncryptionHacksTowardsRemoteServer_OneErrorOneWarningInIdOrder()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Remote + ";Encrypt=False;TrustServerCertificate=True");

        // Assert
        Assert.Equal(["SAFESQL013", "SAFESQL014"], result.Findings.Select(f => f.RuleId));
        Assert.Equal("Refused: SAFESQL013, SAFESQL014 (1 error, 1 warning).", result.ToString());
    }

    [Theory]
    [InlineData("Password=\"" + Secret + "\"")]
    [InlineData("Password=" + Secret)]
    [InlineData("Pwd=Zq7-Hunter2;TrustServerCertificate=True")]
    public void Validate_EncryptionFindings_NeverShowThePassword(string password)
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate($"Data Source=db.example.com;User ID=app;{password};Encrypt=Optional;TrustServerCertificate=True");

        // Assert: compared with the password's parts removed, so a failure message cannot show it either.
        Assert.NotEmpty(result.Findings);
        foreach (var part in Secret.Split(';', '='))
        {
            Assert.All(result.Findings, f => Assert.False(f.Message.Contains(part, StringComparison.Ordinal), $"{f.RuleId} shows a part of the password."));
            Assert.False(result.ToString().Contains(part, StringComparison.Ordinal), "The summary shows a part of the password.");
        }
    }
}

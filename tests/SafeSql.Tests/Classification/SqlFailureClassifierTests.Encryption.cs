using System.Net.Sockets;
using System.Security.Authentication;

using Microsoft.Data.SqlClient;

using Microsoft.Extensions.Time.Testing;

using SafeSql.Diagnostics;
using SafeSql.Tests.Leases;
using SafeSql.Tests.TestUtilities;
using SafeSql.Testing;

namespace SafeSql.Tests.Classification;

/// <summary>
/// Encryption and certificate failures, each produced for real by the loopback server's TLS faults and opened through
/// SafeSql's open pipeline (pooled, retries on, as an application runs it): one attempt, the original exception rethrown,
/// classified <see cref="SqlFailureKind.EncryptionFailure"/> with the cause and the fix. Shapes are identical on SqlClient
/// 6.1.8 and 7.1.1.
/// </summary>
public sealed partial class SqlFailureClassifierTests
{
    private const string CertificateRejectedLead =
        "The server's TLS certificate was rejected during the pre-login handshake (SqlException Number -2146893019, SEC_E_UNTRUSTED_ROOT, with an inner AuthenticationException), so no login was sent.";

    private const string UntrustedChainSentence =
        "The certificate chain ends at a root this client does not trust (X509 chain status UntrustedRoot), typically the self-signed certificate SQL Server generates when it has none. Install the issuing CA's certificate in this client's trusted root store, give the server a certificate from a CA the clients already trust, or pin the server's certificate with Server Certificate=<path to its .cer> (SqlClient 6.0.1+).";

    private const string TrustServerCertificateAndNotRetried =
        "TrustServerCertificate=True would silence this by turning server authentication off (anyone on the path can then read the password): acceptable only for a loopback or development server. Not retried: every attempt fails the same way until the certificate, the server or the connection string changes.";

    private const string HandshakeClosedLead =
        "The server closed the connection during the TLS handshake while opening (SqlException Number 0, \"SSL Provider, error: 31 - Encryption(ssl/tls) handshake failed\", inner IOException without a socket error: an unexpected end of stream). With Encrypt=Strict this is how a server without TDS 8.0 answers (SQL Server 2019 and older, or a server without TLS)";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClassifyOpenFailure_SelfSignedCertificateNotPinned_ReturnsEncryptionFailureUntrustedChainNotRetried(bool async)
    {
        // Arrange: SQL Server's out-of-the-box self-signed certificate, neither pinned nor trusted.
        await using var server = await LoopbackSqlServer.StartAsync();

        // Act
        var (sql, failure) = await OpenThroughPipelineAsync(server, b => b.ServerCertificate = string.Empty, async);

        // Assert
        Assert.Equal(-2146893019, sql.Number);
        Assert.IsType<AuthenticationException>(sql.InnerException);
        Assert.Equal(-2146893019, failure.SqlErrorNumber);
        Assert.Equal(CertificateRejectedLead + " " + UntrustedChainSentence + " " + TrustServerCertificateAndNotRetried, failure.Explanation);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClassifyOpenFailure_StrictIgnoresTrustServerCertificate_ReturnsEncryptionFailureUntrustedChain(bool async)
    {
        // Arrange: under TDS 8.0 SqlClient validates the certificate whatever TrustServerCertificate says.
        await using var server = await LoopbackSqlServer.StartAsync();

        // Act
        var (sql, failure) = await OpenThroughPipelineAsync(
            server,
            b => { b.Encrypt = SqlConnectionEncryptOption.Strict; b.ServerCertificate = string.Empty; b.TrustServerCertificate = true; },
            async);

        // Assert: another outer message ("connection initialization process before login"), the same decision.
        Assert.StartsWith("The client was unable to establish a connection because of an error during connection initialization process before login.", sql.Message, StringComparison.Ordinal);
        Assert.Equal(CertificateRejectedLead + " " + UntrustedChainSentence + " " + TrustServerCertificateAndNotRetried, failure.Explanation);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClassifyOpenFailure_CertificateRotatedAfterPinning_ReturnsEncryptionFailurePinMismatch(bool async)
    {
        // Arrange: the client pinned the certificate the server had before a rotation.
        await using var server = await LoopbackSqlServer.StartAsync();
        var pinnedBefore = ConnectionString(server);
        server.Faults.RotateCertificate();

        // Act
        var (_, failure) = await OpenThroughPipelineAsync(server, b => b.ConnectionString = pinnedBefore, async);

        // Assert: a pin is compared byte for byte, so the rotation is the only cause.
        Assert.Equal(
            CertificateRejectedLead + " The certificate the server presented is not the one pinned with Server Certificate: the server's certificate was rotated (renewed or replaced). Update the pinned file to the server's current certificate (exported as .cer) and keep Server Certificate=<path> pointing at it. " + TrustServerCertificateAndNotRetried,
            failure.Explanation);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClassifyOpenFailure_ExpiredCertificate_ReturnsEncryptionFailureNamingTheExpiry(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.ExpiredCertificate = true;

        // Act
        var (sql, failure) = await OpenThroughPipelineAsync(server, b => b.ServerCertificate = string.Empty, async);

        // Assert: the chain reports NotTimeValid and UntrustedRoot (the expired certificate is self-signed too): both causes, in that order.
        Assert.Contains("[Status: NotTimeValid]", sql.InnerException!.Message, StringComparison.Ordinal);
        Assert.Equal(
            CertificateRejectedLead + " The certificate has expired or is not yet valid (X509 chain status NotTimeValid). Renew the server's certificate and restart SQL Server so it loads the new one; if the dates look right, check this machine's clock. " + UntrustedChainSentence + " " + TrustServerCertificateAndNotRetried,
            failure.Explanation);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClassifyOpenFailure_CertificateNameMismatch_ReturnsEncryptionFailureNamingHostNameInCertificate(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.CertificateNameMismatch = true;

        // Act
        var (_, failure) = await OpenThroughPipelineAsync(server, b => b.ServerCertificate = string.Empty, async);

        // Assert
        Assert.Equal(
            CertificateRejectedLead + " " + UntrustedChainSentence + " The name in the certificate does not match the Data Source (SqlClient's \"Certificate name mismatch\"). Connect with a name the certificate carries, or set HostNameInCertificate to that name (for example when connecting by IP address or through an alias). " + TrustServerCertificateAndNotRetried,
            failure.Explanation);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task ClassifyOpenFailure_ResetDuringTlsHandshake_ReturnsEncryptionFailureNotConnectionBroken(bool async, bool strict)
    {
        // Arrange: the server resets the connection once the ClientHello arrived.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.ResetDuringTlsHandshake = true;

        // Act
        var (sql, failure) = await OpenThroughPipelineAsync(server, b => b.Encrypt = strict ? SqlConnectionEncryptOption.Strict : SqlConnectionEncryptOption.Mandatory, async);

        // Assert: Number 0 and an inner SocketException ConnectionReset, as a broken connection has; provider error 31 decides.
        Assert.Equal(0, sql.Number);
        Assert.EndsWith("(provider: SSL Provider, error: 31 - Encryption(ssl/tls) handshake failed)", sql.Message, StringComparison.Ordinal);
        Assert.Equal(SocketError.ConnectionReset, failure.SocketError);
        Assert.Equal(
            "The TLS handshake was reset while opening (SqlException Number 0, \"SSL Provider, error: 31 - Encryption(ssl/tls) handshake failed\", inner socket error ConnectionReset): the server, or a firewall or TLS-inspecting proxy on the path, dropped the connection in the middle of the handshake, before the login. This is not a broken connection: a server or device that rejects this client's TLS versions, cipher suites or certificate request does so on every attempt. Check that the server supports TLS 1.2, look for a device on the path, and read the server's error log. Nothing was sent. Not retried: every attempt fails the same way until the certificate, the server or the connection string changes.",
            failure.Explanation);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Classify_TlsHandshakeCutThenServerStops_ReturnsConnectionRefusedNotEncryptionFailure(bool async)
    {
        // Arrange: the handshake is cut (as when the server stops in the middle of it), and the server is stopped before the
        // failure is classified.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.ResetDuringTlsHandshake = true;
        var builder = new SqlConnectionStringBuilder(ConnectionString(server)) { Pooling = false };
        var exception = await CaptureAsync(async () =>
        {
            await using var connection = new SqlConnection(builder.ConnectionString);
            await connection.OpenAsync();
        });
        await server.StopAsync();

        // Act
        var failure = async
            ? await SqlFailureClassifier.ClassifyAsync(exception, builder.DataSource)
            : SqlFailureClassifier.Classify(exception, builder.DataSource);

        // Assert: a refused diagnostic connect shows a server that stopped, which the retry and the circuit breaker handle; the
        // same cut with the server still listening stays an EncryptionFailure (the test above).
        Assert.EndsWith("(provider: SSL Provider, error: 31 - Encryption(ssl/tls) handshake failed)", exception.Message, StringComparison.Ordinal);
        Assert.Equal(SqlFailureKind.ConnectionRefused, failure.Kind);
        Assert.True(failure.IsTransient);
        Assert.StartsWith("The server at 127.0.0.1:", failure.Explanation, StringComparison.Ordinal);
        Assert.Contains("cut the TLS handshake while opening", failure.Explanation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClassifyOpenFailure_ServerWithoutEncryption_ReturnsEncryptionFailureError20(bool async)
    {
        // Arrange: the client's default, Encrypt=Mandatory, against a server that answers ENCRYPT_NOT_SUP (the server's own
        // connection string says Encrypt=False for it).
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Encryption = LoopbackEncryption.NotSupported });

        // Act
        var (sql, failure) = await OpenThroughPipelineAsync(server, b => b.Encrypt = SqlConnectionEncryptOption.Mandatory, async);

        // Assert
        Assert.Equal(20, sql.Number);
        Assert.Null(sql.InnerException);
        Assert.Equal(
            "The server does not support encryption (SqlException Number 20, \"The instance of SQL Server you attempted to connect to does not support encryption\"): it answered the pre-login with ENCRYPT_NOT_SUP, while this client requires encryption (Encrypt=Mandatory, SqlClient's default since 4.0). Enable TLS on the server (give SQL Server a certificate in SQL Server Configuration Manager). Only for a development server, Encrypt=Optional connects without TLS: then the login, password included, travels in clear. Not retried: every attempt fails the same way until the certificate, the server or the connection string changes.",
            failure.Explanation);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task ClassifyOpenFailure_StrictAgainstServerWithoutTds8_ReturnsEncryptionFailureNamingStrict(bool async, bool withoutEncryption)
    {
        // Arrange: a TDS 7.4 server (SQL Server 2019 and older), or one without encryption at all, closes a TLS-first connection.
        var options = withoutEncryption ? new LoopbackSqlServerOptions { Encryption = LoopbackEncryption.NotSupported } : new LoopbackSqlServerOptions { SupportsTds8 = false };
        await using var server = await LoopbackSqlServer.StartAsync(options);

        // Act
        var (sql, failure) = await OpenThroughPipelineAsync(server, b => b.Encrypt = SqlConnectionEncryptOption.Strict, async);

        // Assert
        Assert.Equal(0, sql.Number);
        Assert.IsType<IOException>(sql.InnerException);
        Assert.Null(failure.SocketError);
        Assert.StartsWith(HandshakeClosedLead, failure.Explanation, StringComparison.Ordinal);
        Assert.Contains("Against it use Encrypt=Mandatory with a trusted or pinned certificate, or move the server to SQL Server 2022 with a certificate.", failure.Explanation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClassifyOpenFailure_ResetDuringLoginInsideTls_StaysConnectionBroken(bool async)
    {
        // Arrange: the TLS session is up; the reset comes with the LOGIN7 packet, so provider error 31 is absent.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.ResetDuringLogin = true;

        // Act
        var exception = await CaptureOpenFailureAsync(ConnectionString(server, b => b.Pooling = false), async);
        var failure = SqlFailureClassifier.ClassifyOpenFailure(exception, DataSource(server));

        // Assert
        Assert.NotEqual(31, SqlClientSignatures.GetProviderErrorNumber(exception.Message));
        Assert.Equal(SqlFailureKind.ConnectionBroken, failure.Kind);
        Assert.True(failure.IsTransient);
    }

    /// <summary>
    /// Opens once through a pooled <see cref="SafeSqlDataSource"/> with the default open retries on a manual clock (a retry
    /// would wait on it; the open is bounded to 60 s of real time so a wrong decision fails instead of hanging), then checks
    /// what every encryption failure shares: one TCP connection, one failed attempt logged as not retried, counted as
    /// encryption_failure, the original <see cref="SqlException"/> rethrown, classified not transient, nothing executed.
    /// </summary>
    private static async Task<(SqlException Sql, SqlFailure Failure)> OpenThroughPipelineAsync(LoopbackSqlServer server, Action<SqlConnectionStringBuilder>? configure, bool async)
    {
        await using var harness = new FactoryHarness(ConnectionString(server, configure), timeProvider: new FakeTimeProvider(), name: "encryption");
        var exception = await CaptureAsync(async () =>
        {
            await using var connection = await Task.Run(() => harness.OpenAsync(async)).WaitAsync(TimeSpan.FromSeconds(60));
        });

        var sql = Assert.IsType<SqlException>(exception);
        Assert.Equal(20, sql.Class);
        // The open's connection, and for a cut handshake the diagnostic connect that tells a server that stopped from one that
        // refuses TLS (accepted here: the server listens, so the failure stays an EncryptionFailure).
        Assert.InRange(server.Counters.TcpConnectionsAccepted, 1, 2);
        Assert.Empty(server.Logins);
        var failed = Assert.Single(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.OpenFailed);
        Assert.Equal(
            $"Opening a connection of pool '{harness.Name}' failed with EncryptionFailure after 1 attempt(s), not retried: EncryptionFailure is never retried. The original exception is rethrown.",
            failed.Message);
        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.OpenRetrying);
        Assert.Equal("encryption_failure", Assert.Single(harness.Failures()).Tags[SafeSqlMetrics.FailureKindTag]);

        var failure = SqlFailureClassifier.ClassifyOpenFailure(sql, DataSource(server));
        Assert.Equal(SqlFailureKind.EncryptionFailure, failure.Kind);
        Assert.False(failure.IsTransient);
        Assert.False(failure.MayHaveExecuted);
        Assert.Same(sql, failure.Exception);
        Assert.Equal(SqlFailureKind.EncryptionFailure, SqlFailureClassifier.Classify(sql).Kind);
        AssertSafe(failure);
        return (sql, failure);
    }
}

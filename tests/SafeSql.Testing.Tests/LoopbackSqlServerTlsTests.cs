using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Data.SqlClient;
using SafeSql.Shared.Tds;
using static SafeSql.Testing.Tests.LoopbackSqlServerFaultsTests;
using static SafeSql.Testing.Tests.LoopbackSqlServerTests;

namespace SafeSql.Testing.Tests;

/// <summary>
/// TLS as SQL Server negotiates it, proven with the real SqlClient (the floor 6.1.8 and the newest, 7.1.1: the shapes below
/// are the same on both) over real TCP: <c>Encrypt=Mandatory</c> (the default), <c>Optional</c> and <c>Strict</c>, the
/// certificate pinned or trusted blindly, and each certificate or handshake fault as the client reports it.
/// </summary>
public sealed class LoopbackSqlServerTlsTests
{
    private const string PreLoginHandshakeFailed =
        "A connection was successfully established with the server, but then an error occurred during the pre-login handshake.";

    private const string InitializationFailed =
        "The client was unable to establish a connection because of an error during connection initialization process before login. Possible causes include the following:  the client tried to connect to an unsupported version of SQL Server; the server was too busy to accept new connections; or there was a resource limitation (insufficient memory or maximum allowed connections) on the server.";

    private const string TcpProviderError35 = " (provider: TCP Provider, error: 35 - An internal exception was caught)";

    private const string SslProviderError31 = " (provider: SSL Provider, error: 31 - Encryption(ssl/tls) handshake failed)";

    /// <summary>SEC_E_UNTRUSTED_ROOT (0x80090325), the number SqlClient gives every certificate validation failure.</summary>
    private const int UntrustedRootNumber = -2146893019;

    private const string PinMismatch = "The certificate provided by the server does not match the certificate provided by the ServerCertificate option.";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_DefaultConnectionString_EncryptsWholeConnectionWithPinnedCertificate(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var builder = new SqlConnectionStringBuilder(server.ConnectionString);
        await using var connection = new SqlConnection(server.ConnectionString);

        // Act
        await OpenAsync(connection, async);
        var one = await ScalarAsync(connection, "SELECT 1", async);

        // Assert: no Encrypt keyword (SqlClient's default, Mandatory), the server authenticated by its pinned certificate.
        Assert.DoesNotContain("Encrypt", server.ConnectionString, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(SqlConnectionEncryptOption.Mandatory, builder.Encrypt);
        Assert.False(builder.TrustServerCertificate);
        Assert.Equal(server.CertificatePath, builder.ServerCertificate);
        Assert.Equal(server.Certificate!.RawData, await File.ReadAllBytesAsync(server.CertificatePath!));
        Assert.Equal(1, one);
        Assert.Equal(LoopbackConnectionEncryption.Tls, Assert.Single(server.Logins).Encryption);
        Assert.Equal(1, server.Counters.TlsHandshakes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_TrustServerCertificateWithoutPin_EncryptsWholeConnection(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = new SqlConnectionStringBuilder(Unpooled(server)) { ServerCertificate = string.Empty, TrustServerCertificate = true }.ConnectionString;
        await using var connection = new SqlConnection(connectionString);

        // Act
        await OpenAsync(connection, async);
        var one = await ScalarAsync(connection, "SELECT 1", async);

        // Assert
        Assert.Equal(1, one);
        Assert.Equal(LoopbackConnectionEncryption.Tls, Assert.Single(server.Logins).Encryption);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_EncryptOptional_EncryptsLoginOnlyThenTalksInClear(bool async)
    {
        // Arrange: ENCRYPT_OFF from the client, ENCRYPT_OFF from the server = TLS for LOGIN7 only.
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = new SqlConnectionStringBuilder(Unpooled(server)) { Encrypt = SqlConnectionEncryptOption.Optional }.ConnectionString;
        await using var connection = new SqlConnection(connectionString);

        // Act
        await OpenAsync(connection, async);
        var greeting = await ScalarAsync(connection, "SELECT N'after the login, in clear'", async);

        // Assert
        Assert.Equal("after the login, in clear", greeting);
        var login = Assert.Single(server.Logins);
        Assert.Equal(LoopbackConnectionEncryption.LoginOnly, login.Encryption);
        Assert.Equal(LoopbackSqlServerOptions.DefaultPassword, login.Password);
        Assert.Equal(1, server.Counters.TlsHandshakes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_EncryptOptionalAgainstServerRequiringEncryption_EncryptsWholeConnection(bool async)
    {
        // Arrange: Force Encryption = Yes answers ENCRYPT_REQ to ENCRYPT_OFF.
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Encryption = LoopbackEncryption.Required });
        var connectionString = new SqlConnectionStringBuilder(Unpooled(server)) { Encrypt = SqlConnectionEncryptOption.Optional }.ConnectionString;
        await using var connection = new SqlConnection(connectionString);

        // Act
        await OpenAsync(connection, async);
        var one = await ScalarAsync(connection, "SELECT 1", async);

        // Assert
        Assert.Equal(1, one);
        Assert.Equal(LoopbackConnectionEncryption.Tls, Assert.Single(server.Logins).Encryption);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_EncryptStrictWithPinnedCertificate_SpeaksTds8(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = new SqlConnectionStringBuilder(Unpooled(server)) { Encrypt = SqlConnectionEncryptOption.Strict }.ConnectionString;
        await using var connection = new SqlConnection(connectionString);

        // Act
        await OpenAsync(connection, async);
        var one = await ScalarAsync(connection, "SELECT 1", async);

        // Assert
        Assert.Equal(1, one);
        Assert.Equal(LoopbackConnectionEncryption.Tds8, Assert.Single(server.Logins).Encryption);
        Assert.Equal(1, server.Counters.TlsHandshakes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_UnpinnedSelfSignedCertificate_ThrowsUntrustedRoot(bool async)
    {
        // Arrange: what every client with default settings sees against SQL Server's self-signed certificate.
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = new SqlConnectionStringBuilder(Unpooled(server)) { ServerCertificate = string.Empty }.ConnectionString;

        // Act
        var ex = await OpenFailsAsync(connectionString, async);

        // Assert
        AssertCertificateRejected(ex, PreLoginHandshakeFailed, "Certificate failed chain validation. Error(s): 'self-signed certificate, [Status: UntrustedRoot]\n'.\n");
        Assert.Empty(server.Logins);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_EncryptStrictWithTrustServerCertificate_StillValidatesAndThrows(bool async)
    {
        // Arrange: under TDS 8.0 SqlClient ignores TrustServerCertificate=True.
        await using var server = await LoopbackSqlServer.StartAsync();
        var connectionString = new SqlConnectionStringBuilder(Unpooled(server))
        {
            Encrypt = SqlConnectionEncryptOption.Strict,
            ServerCertificate = string.Empty,
            TrustServerCertificate = true,
        }.ConnectionString;

        // Act
        var ex = await OpenFailsAsync(connectionString, async);

        // Assert
        AssertCertificateRejected(ex, InitializationFailed, "Certificate failed chain validation. Error(s): 'self-signed certificate, [Status: UntrustedRoot]\n'.\n");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RotateCertificate_ClientPinnedOldCertificate_ThrowsPinMismatchAndNewConnectionStringOpens(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var pinnedBefore = Unpooled(server);
        var before = server.Certificate!;

        // Act
        var rotated = server.Faults.RotateCertificate();
        var ex = await OpenFailsAsync(pinnedBefore, async);

        // Assert
        AssertCertificateRejected(ex, PreLoginHandshakeFailed, PinMismatch);
        Assert.NotEqual(before.RawData, rotated.RawData);
        Assert.Same(rotated, server.Certificate);
        Assert.NotEqual(new SqlConnectionStringBuilder(pinnedBefore).ServerCertificate, server.CertificatePath);
        await using var connection = new SqlConnection(Unpooled(server));
        await OpenAsync(connection, async);
        Assert.Equal(LoopbackConnectionEncryption.Tls, Assert.Single(server.Logins).Encryption);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_ExpiredCertificate_ThrowsNotTimeValid(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.ExpiredCertificate = true;
        var validating = new SqlConnectionStringBuilder(Unpooled(server)) { ServerCertificate = string.Empty }.ConnectionString;
        var trusting = new SqlConnectionStringBuilder(validating) { TrustServerCertificate = true }.ConnectionString;

        // Act
        var ex = await OpenFailsAsync(validating, async);
        var pinned = await OpenFailsAsync(Unpooled(server), async);

        // Assert: the chain check reports the expiry; a pin compares bytes only; TrustServerCertificate=True hides it.
        AssertCertificateRejected(ex, PreLoginHandshakeFailed, "Certificate failed chain validation. Error(s): 'certificate has expired, [Status: NotTimeValid]\nself-signed certificate, [Status: UntrustedRoot]\n'.\n");
        AssertCertificateRejected(pinned, PreLoginHandshakeFailed, PinMismatch);
        await using var connection = new SqlConnection(trusting);
        await OpenAsync(connection, async);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_CertificateNameMismatch_ThrowsNameMismatch(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.CertificateNameMismatch = true;
        var connectionString = new SqlConnectionStringBuilder(Unpooled(server)) { ServerCertificate = string.Empty }.ConnectionString;

        // Act
        var ex = await OpenFailsAsync(connectionString, async);

        // Assert
        AssertCertificateRejected(
            ex,
            PreLoginHandshakeFailed,
            "Certificate failed chain validation. Error(s): 'self-signed certificate, [Status: UntrustedRoot]\n'.\nCertificate name mismatch. The provided 'DataSource' or 'HostNameInCertificate' does not match the name in the certificate.\n");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task Open_ResetDuringTlsHandshake_ThrowsSslProviderError31WithConnectionReset(bool async, bool strict)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.ResetDuringTlsHandshake = true;
        var connectionString = new SqlConnectionStringBuilder(Unpooled(server)) { Encrypt = strict ? SqlConnectionEncryptOption.Strict : SqlConnectionEncryptOption.Mandatory }.ConnectionString;

        // Act
        var ex = await OpenFailsAsync(connectionString, async);

        // Assert
        Assert.Equal(0, ex.Number);
        Assert.Equal(20, ex.Class);
        Assert.Equal((strict ? InitializationFailed : PreLoginHandshakeFailed) + SslProviderError31, ex.Message);
        var io = Assert.IsType<IOException>(ex.InnerException);
        var socket = Assert.IsType<System.Net.Sockets.SocketException>(io.InnerException);
        Assert.Equal(System.Net.Sockets.SocketError.ConnectionReset, socket.SocketErrorCode);
        Assert.Equal(0, server.Counters.TlsHandshakes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_EncryptStrictAgainstServerWithoutEncryption_ThrowsSslProviderError31(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Encryption = LoopbackEncryption.NotSupported });
        var connectionString = new SqlConnectionStringBuilder(Unpooled(server)) { Encrypt = SqlConnectionEncryptOption.Strict }.ConnectionString;

        // Act
        var ex = await OpenFailsAsync(connectionString, async);

        // Assert
        AssertStrictRefused(ex);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Open_EncryptStrictAgainstTds74Server_ThrowsSslProviderError31AndMandatoryStillOpens(bool async)
    {
        // Arrange: SQL Server 2019 and older speak TLS only inside PRELOGIN.
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { SupportsTds8 = false });
        var strict = new SqlConnectionStringBuilder(Unpooled(server)) { Encrypt = SqlConnectionEncryptOption.Strict }.ConnectionString;

        // Act
        var ex = await OpenFailsAsync(strict, async);

        // Assert
        AssertStrictRefused(ex);
        await using var connection = new SqlConnection(Unpooled(server));
        await OpenAsync(connection, async);
        Assert.Equal(LoopbackConnectionEncryption.Tls, Assert.Single(server.Logins).Encryption);
    }

    [Theory]
    [InlineData(SslProtocols.Tls12 | SslProtocols.Tls13, SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13, SslProtocols.None)]
    public async Task PreLoginTls_ClientOffering_NegotiatesTls12Only(SslProtocols offered, SslProtocols expected)
    {
        // Arrange: a raw TDS 7.x client: PRELOGIN with ENCRYPT_ON, then the handshake inside PRELOGIN packets.
        await using var server = await LoopbackSqlServer.StartAsync();
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoint);
        await using var network = new NetworkStream(socket, ownsSocket: false);
        byte[] preLogin = [0x12, 0x01, 0x00, 0x0F, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x00, 0x01, 0xFF, 0x01];
        await network.WriteAsync(preLogin);
        var reply = new byte[8];
        await network.ReadExactlyAsync(reply);
        var payload = new byte[((reply[2] << 8) | reply[3]) - 8];
        await network.ReadExactlyAsync(payload);
        await using var tls = new SslStream(new TlsOverTdsStream(network, wrapInPreLogin: true), leaveInnerStreamOpen: true);

        // Act
        var handshake = await Record.ExceptionAsync(() => tls.AuthenticateAsClientAsync(ClientOptions(server, offered, alpn: false)));

        // Assert
        Assert.Equal(0x01, payload[ReadEncryptionOffset(payload)]); // ENCRYPT_ON answered to ENCRYPT_ON
        if (expected == SslProtocols.None)
        {
            Assert.True(handshake is AuthenticationException or IOException, $"Expected the handshake to fail, got {handshake?.GetType().Name ?? "success"}.");
        }
        else
        {
            Assert.Null(handshake);
            Assert.Equal(expected, tls.SslProtocol);
        }
    }

    [Fact]
    public async Task Tds8Tls_ClientWithAlpn_NegotiatesTls13AndTds8()
    {
        // Arrange: a raw TDS 8.0 client: TLS first on the socket.
        await using var server = await LoopbackSqlServer.StartAsync();
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.EndPoint);
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));

        // Act
        await tls.AuthenticateAsClientAsync(ClientOptions(server, SslProtocols.Tls12 | SslProtocols.Tls13, alpn: true));

        // Assert
        Assert.Equal(SslProtocols.Tls13, tls.SslProtocol);
        Assert.Equal("tds/8.0", tls.NegotiatedApplicationProtocol.ToString());
    }

    [Fact]
    public async Task StartAsync_SuppliedCertificate_PresentsAndExportsIt()
    {
        // Arrange
        using var supplied = CreateCertificate("localhost");

        // Act
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Certificate = supplied });
        await using var connection = new SqlConnection(server.ConnectionString);
        await connection.OpenAsync();

        // Assert: the client pinned the exported file and accepted the server's certificate, so they are the same bytes.
        Assert.Same(supplied, server.Certificate);
        Assert.Equal(supplied.RawData, await File.ReadAllBytesAsync(server.CertificatePath!));
        Assert.Equal(LoopbackConnectionEncryption.Tls, Assert.Single(server.Logins).Encryption);
    }

    [Fact]
    public async Task StartAsync_CertificateWithoutPrivateKey_ThrowsWithParameterName()
    {
        // Arrange
        using var withKey = CreateCertificate("localhost");
        using var publicOnly = X509CertificateLoader.LoadCertificate(withKey.RawData);

        // Act
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Certificate = publicOnly }));

        // Assert
        Assert.Equal("options.Certificate", ex.ParamName);
        Assert.StartsWith("The server certificate 'CN=localhost' has no private key, so the server cannot complete a TLS handshake with it.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_UndefinedEncryption_ThrowsWithParameterName()
    {
        // Act
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Encryption = (LoopbackEncryption)7 }));

        // Assert
        Assert.Equal("options.Encryption", ex.ParamName);
    }

    [Fact]
    public async Task RotateCertificate_ServerWithoutEncryption_ThrowsInvalidOperation()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Encryption = LoopbackEncryption.NotSupported });

        // Act
        var ex = Assert.Throws<InvalidOperationException>(() => server.Faults.RotateCertificate());

        // Assert
        Assert.Equal(
            "This server does not support encryption (LoopbackSqlServerOptions.Encryption is NotSupported), so it has no certificate to rotate. Start it with LoopbackEncryption.Supported or Required.",
            ex.Message);
    }

    [Fact]
    public async Task DisposeAsync_AfterRotation_DeletesEveryExportedCertificate()
    {
        // Arrange
        var server = await LoopbackSqlServer.StartAsync();
        var first = server.CertificatePath!;
        server.Faults.RotateCertificate();
        var second = server.CertificatePath!;
        Assert.True(File.Exists(first));
        Assert.True(File.Exists(second));

        // Act
        await server.DisposeAsync();

        // Assert
        Assert.False(File.Exists(first));
        Assert.False(File.Exists(second));
        Assert.False(Directory.Exists(Path.GetDirectoryName(first)));
    }

    private static SslClientAuthenticationOptions ClientOptions(LoopbackSqlServer server, SslProtocols protocols, bool alpn) => new()
    {
        TargetHost = "localhost",
        EnabledSslProtocols = protocols,
        ApplicationProtocols = alpn ? [new SslApplicationProtocol("tds/8.0")] : null,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(server.Certificate!.RawData),
    };

    /// <summary>The data offset of the ENCRYPTION option (token 0x01) in a PRELOGIN payload (offsets are big-endian).</summary>
    private static int ReadEncryptionOffset(byte[] payload)
    {
        for (var i = 0; payload[i] != 0xFF; i += 5)
        {
            if (payload[i] == 0x01)
            {
                return (payload[i + 1] << 8) | payload[i + 2];
            }
        }

        throw new InvalidDataException("The PRELOGIN reply has no ENCRYPTION option.");
    }

    private static void AssertCertificateRejected(SqlException ex, string stage, string innerMessage)
    {
        Assert.Equal(UntrustedRootNumber, ex.Number);
        Assert.Equal(20, ex.Class);
        Assert.Equal(stage + TcpProviderError35, ex.Message);
        var inner = Assert.IsType<AuthenticationException>(ex.InnerException);
        Assert.Equal(innerMessage, inner.Message.ReplaceLineEndings("\n"));
    }

    private static void AssertStrictRefused(SqlException ex)
    {
        Assert.Equal(0, ex.Number);
        Assert.Equal(20, ex.Class);
        Assert.Equal(InitializationFailed + SslProviderError31, ex.Message);
        var io = Assert.IsType<IOException>(ex.InnerException);
        Assert.Equal("Received an unexpected EOF or 0 bytes from the transport stream.", io.Message);
    }

    /// <summary>An ECDSA P-256 certificate: cheap to create, and a different key type from the server's own RSA one.</summary>
    private static X509Certificate2 CreateCertificate(string name)
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        var now = TimeProvider.System.GetUtcNow();
        return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(7));
    }
}

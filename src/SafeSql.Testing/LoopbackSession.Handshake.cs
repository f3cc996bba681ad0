using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SafeSql.Testing.Tds;
using SafeSql.Testing.Tls;

namespace SafeSql.Testing;

/// <summary>The handshake of a session: PRELOGIN and the encryption it negotiates, TLS (inside PRELOGIN packets, or first
/// for TDS 8.0), then LOGIN7 and its reply.</summary>
internal sealed partial class LoopbackSession
{
    private const string ProgramName = "Microsoft SQL Server";

    /// <summary>The first byte of a TLS record carrying a handshake message (RFC 5246 6.2.1, content type 22): a TDS 8.0 client's
    /// ClientHello. A TDS 7.x client starts with a PRELOGIN packet (0x12).</summary>
    private const byte TlsHandshakeRecord = 0x16;

    /// <summary>The ALPN protocol of TDS 8.0, which SqlClient's TLS-first client offers (ManagedSni SniPhysicalHandle).</summary>
    private static readonly List<SslApplicationProtocol> s_tds8Protocols = [new SslApplicationProtocol("tds/8.0")];

    private LoopbackConnectionEncryption _encryption;

    private async Task<bool> HandshakeAsync(TdsReader reader, TdsWriter writer, CancellationToken token)
    {
        var first = await PeekFirstByteAsync(token).ConfigureAwait(false);
        if (first < 0)
        {
            return false;
        }

        if (Faults.IgnorePrelogin)
        {
            // A hung server: keep the connection, answer nothing, until the client gives up and closes it.
            await DrainAsync(token).ConfigureAwait(false);
            return false;
        }

        var certificates = _server.Certificates;
        if (first == TlsHandshakeRecord)
        {
            if (certificates is null || !_server.Options.SupportsTds8)
            {
                // A TDS 7.x server reads the ClientHello as a packet of an unknown type and closes the transport, as MS-TDS
                // says a server does when the first packet is not a structurally correct PRELOGIN.
                await _network.ReadAsync(new byte[TdsConstants.DefaultPacketSize], token).ConfigureAwait(false);
                Close();
                return false;
            }

            if (!await StartTlsAsync(reader, certificates, tds8: true, token).ConfigureAwait(false))
            {
                return false;
            }
        }

        var message = await reader.ReadMessageAsync(token).ConfigureAwait(false);
        if (message is null)
        {
            return false;
        }

        if (message.Value.Type == TdsConstants.PacketPreLogin)
        {
            var (answer, outcome) = PreLogin.Negotiate(PreLogin.ReadClientEncryption(message.Value.Payload.Span), _server.Options.Encryption);
            _fedAuthRequiredSent = _server.Options.FederatedAuthentication is not null && PreLogin.ClientSentFedAuthRequired(message.Value.Payload.Span);
            PreLogin.WriteReply(writer, s_serverVersion, answer, _fedAuthRequiredSent);
            await SendAsync(writer, endOfMessage: true, token).ConfigureAwait(false);

            // Under TDS 8.0 TLS is already on and the client ignores the answer (SqlClient sends ENCRYPT_NOT_SUP inside TLS).
            if (_encryption != LoopbackConnectionEncryption.Tds8 && outcome != LoopbackConnectionEncryption.None)
            {
                if (!await StartTlsAsync(reader, certificates!, tds8: false, token).ConfigureAwait(false))
                {
                    return false;
                }

                _encryption = outcome;
            }

            message = await reader.ReadMessageAsync(token).ConfigureAwait(false);
            if (message is null)
            {
                return false;
            }
        }

        if (message.Value.Type != TdsConstants.PacketLogin7 ||
            (_encryption == LoopbackConnectionEncryption.None && _server.Options.Encryption == LoopbackEncryption.Required))
        {
            // Not a login, or a login in clear to a server that requires encryption (a client that ignored ENCRYPT_REQ).
            return false;
        }

        if (Faults.ResetDuringLogin)
        {
            Abort();
            return false;
        }

        var login = Login7Parser.Parse(message.Value.Payload.Span);
        if (_encryption == LoopbackConnectionEncryption.LoginOnly)
        {
            // Both sides said ENCRYPT_OFF: TLS protected LOGIN7 only; the reply and everything after it travel in clear
            // (SqlClient TdsParser.RemoveEncryption, FreeTDS encrypt_single_packet).
            Debug.Assert(!reader.HasBufferedBytes, "The client sends nothing after LOGIN7 before the login reply.");
            reader.Stream = _network;
            _transport = _network;
        }

        var delay = Faults.LoginDelay;
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _server.Options.TimeProvider, token).ConfigureAwait(false);
        }

        TdsStatement? failure;
        string? loginName;
        if (login.FedAuth is null)
        {
            failure = CheckLogin(login);
            loginName = login.UserName;
        }
        else
        {
            (failure, loginName) = await AuthenticateTokenAsync(login, login.FedAuth, reader, writer, token).ConfigureAwait(false);
            if (loginName is null)
            {
                return false;
            }
        }

        _server.RecordLogin(new LoopbackLogin(SessionId, loginName, login.Password, login.Database, login.ApplicationName, login.HostName, login.PacketSize, failure is null, _encryption, login.FedAuth is not null));
        if (failure is not null)
        {
            Counters.OnFailedLogin();
            WriteError(writer, failure);
            TdsTokens.WriteDone(writer, TdsConstants.TokenDone, TdsConstants.DoneError, 0, 0);
            await SendAsync(writer, endOfMessage: true, token).ConfigureAwait(false);
            Close();
            return false;
        }

        _loginDatabase = _database = login.Database.Length > 0 ? login.Database : "master";
        var packetSize = login.PacketSize == 0 ? TdsConstants.DefaultPacketSize : Math.Clamp(login.PacketSize, TdsConstants.MinPacketSize, TdsConstants.MaxPacketSize);
        var serverName = _server.Options.ServerName;
        TdsTokens.WriteEnvChange(writer, TdsConstants.EnvDatabase, _database, "master");
        TdsTokens.WriteMessage(writer, isError: false, 5701, 2, 0, $"Changed database context to '{_database}'.", serverName, string.Empty, 1);
        TdsTokens.WriteCollationEnvChange(writer);
        TdsTokens.WriteEnvChange(writer, TdsConstants.EnvLanguage, "us_english", string.Empty);
        TdsTokens.WriteMessage(writer, isError: false, 5703, 1, 0, "Changed language setting to us_english.", serverName, string.Empty, 1);
        TdsTokens.WriteEnvChange(writer, TdsConstants.EnvPacketSize, packetSize.ToString(CultureInfo.InvariantCulture), TdsConstants.DefaultPacketSize.ToString(CultureInfo.InvariantCulture));
        TdsTokens.WriteLoginAck(writer, ProgramName, s_serverVersion);
        if (login.FedAuth is not null)
        {
            // SqlClient fails a login whose FEDAUTH request is not acknowledged (SqlInternalConnectionTds.CompleteLogin).
            FedAuth.WriteFeatureExtAck(writer);
        }

        TdsTokens.WriteDone(writer, TdsConstants.TokenDone, TdsConstants.DoneFinal, 0, 0);
        _loginName = loginName;
        Volatile.Write(ref _accessTokenLogin, login.FedAuth is not null);

        // Counted before the reply leaves, so a test that reads Counters.Logins right after Open returns sees this login.
        Counters.OnLogin();
        if (login.FedAuth is not null)
        {
            Counters.OnAccessTokenLogin();
        }

        await SendAsync(writer, endOfMessage: true, token).ConfigureAwait(false);
        writer.PacketSize = packetSize;
        return true;
    }

    private TdsStatement? CheckLogin(Login7Data login)
    {
        var options = _server.Options;
        var forced = Faults.FailLoginsWithError;
        if (forced is not null)
        {
            return LoginErrors.Create(forced.Value, login, options.ServerName);
        }

        if (options.FederatedAuthentication is { AllowSqlAuthentication: false })
        {
            // Microsoft Entra-only authentication: a login without a token fails like a wrong password.
            return LoginErrors.Create(18456, login, options.ServerName);
        }

        var userOk = options.UserName is null || string.Equals(options.UserName, login.UserName, StringComparison.OrdinalIgnoreCase);
        var passwordOk = options.Password is null || string.Equals(options.Password, login.Password, StringComparison.Ordinal);
        return userOk && passwordOk && !login.IntegratedSecurity ? null : LoginErrors.Create(18456, login, options.ServerName);
    }

    /// <summary>Starts TLS on the connection: TDS 7.x with the handshake inside PRELOGIN packets and TLS 1.2 only, or TDS 8.0
    /// on the raw socket with TLS 1.2 or 1.3 and ALPN <c>tds/8.0</c>. From then on TDS packets travel inside TLS records.</summary>
    /// <returns><see langword="false"/> when a fault ended the connection.</returns>
    private async Task<bool> StartTlsAsync(TdsReader reader, ServerCertificates certificates, bool tds8, CancellationToken token)
    {
        if (Faults.ResetDuringTlsHandshake)
        {
            // Wait for the client's ClientHello, so the client is inside its handshake, waiting for the server's answer.
            await _socket.ReceiveAsync(new byte[1], SocketFlags.Peek, token).ConfigureAwait(false);
            Abort();
            return false;
        }

        Debug.Assert(!reader.HasBufferedBytes, "The client sends its ClientHello only after the PRELOGIN reply (or first, for TDS 8.0).");
        var transport = new TlsOverTdsStream(_network, wrapInPreLogin: !tds8);
        var tls = new SslStream(transport, leaveInnerStreamOpen: false);
        _tls = tls;
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificates.Select(Faults.ExpiredCertificate, Faults.CertificateNameMismatch),

            // TLS 1.3 only with TDS 8.0, as SQL Server documents it: inside PRELOGIN its post-handshake messages would cross
            // SqlClient's switch from framed to raw records.
            EnabledSslProtocols = tds8 ? SslProtocols.Tls12 | SslProtocols.Tls13 : SslProtocols.Tls12,
            ApplicationProtocols = tds8 ? s_tds8Protocols : null,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        await tls.AuthenticateAsServerAsync(options, token).ConfigureAwait(false);
        transport.FinishHandshake();
        Counters.OnTlsHandshake();
        reader.Stream = tls;
        _transport = tls;
        if (tds8)
        {
            _encryption = LoopbackConnectionEncryption.Tds8;
        }

        return true;
    }

    /// <summary>Waits for the client's first byte without consuming it.</summary>
    /// <returns>The byte, or -1 when the client closed the connection.</returns>
    private async Task<int> PeekFirstByteAsync(CancellationToken token)
    {
        var buffer = new byte[1];
        var n = await _socket.ReceiveAsync(buffer, SocketFlags.Peek, token).ConfigureAwait(false);
        return n == 0 ? -1 : buffer[0];
    }

    /// <summary>Reads and discards until the client closes the connection.</summary>
    private async Task DrainAsync(CancellationToken token)
    {
        var buffer = new byte[TdsConstants.DefaultPacketSize];
        while (await _network.ReadAsync(buffer, token).ConfigureAwait(false) > 0)
        {
        }
    }
}

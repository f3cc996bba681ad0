using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

using Microsoft.Data.SqlClient;

using SafeSql.Shared.Tds;
using SafeSql.Tool.Tds;

namespace SafeSql.Tool.Doctor;

internal sealed partial class DoctorRunner
{
    private const string EndpointWhy = "Each step is what SqlClient does on every new connection; the first that fails is the error the application gets.";

    private static readonly SslApplicationProtocol s_tds8 = new("tds/8.0");

    private async Task<IPAddress[]?> CheckDnsAsync()
    {
        if (_source.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || IPAddress.TryParse(_source.Host, out _))
        {
            var address = IPAddress.TryParse(_source.Host, out var literal) ? literal : IPAddress.Loopback;
            Add("endpoint", "dns", DoctorStatus.Ok, $"{_source.Host}: no lookup needed ({address}, {Family(address)}).", EndpointWhy, null, new() { ["addresses"] = new[] { address.ToString() } });
            return [address];
        }

        var clock = Stopwatch.StartNew();
        try
        {
            using var timeout = new CancellationTokenSource(StepTimeout);
            var addresses = await Dns.GetHostAddressesAsync(_source.Host, timeout.Token).ConfigureAwait(false);
            if (addresses.Length == 0)
            {
                throw new SocketException((int)SocketError.HostNotFound);
            }

            var v4 = addresses.Count(a => a.AddressFamily == AddressFamily.InterNetwork);
            Add(
                "endpoint",
                "dns",
                DoctorStatus.Ok,
                $"{_source.Host} resolved in {Milliseconds(clock)} to {string.Join(", ", addresses.Select(a => a.ToString()))} ({v4} IPv4, {addresses.Length - v4} IPv6).",
                EndpointWhy,
                null,
                new() { ["milliseconds"] = Round(clock.Elapsed), ["addresses"] = addresses.Select(a => a.ToString()).ToArray(), ["ipv4"] = v4, ["ipv6"] = addresses.Length - v4 });
            return addresses;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            var what = ex is OperationCanceledException ? $"no answer within Connect Timeout ({StepTimeout.TotalSeconds:0} s)" : ((SocketException)ex).SocketErrorCode.ToString();
            Add("endpoint", "dns", DoctorStatus.Problem, $"{_source.Host} did not resolve after {Milliseconds(clock)}: {what}. TCP, PRELOGIN, TLS and login were not tried.", EndpointWhy, "Check the host name and this machine's DNS (/etc/resolv.conf, getent hosts <host>).", new() { ["milliseconds"] = Round(clock.Elapsed), ["error"] = what });
            return null;
        }
    }

    /// <summary>SqlClient tries the addresses in order (IPv4 first unless told otherwise); the doctor checks the first IPv4 one.</summary>
    private static IPAddress PickAddress(IPAddress[] addresses) =>
        Array.Find(addresses, a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];

    private static string Family(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";

    private async Task<bool> CheckTcpConnectAsync()
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var socket = await ConnectAsync().ConfigureAwait(false);
            Add("endpoint", "tcp-connect", DoctorStatus.Ok, $"TCP connect to {_endPoint} in {Milliseconds(clock)}.", EndpointWhy, null, new() { ["endPoint"] = _endPoint!.ToString(), ["milliseconds"] = Round(clock.Elapsed) });
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            AddConnectFailure("tcp-connect", $"TCP connect to {_endPoint}", clock, ex);
            return false;
        }
    }

    /// <summary>
    /// Opens a raw TCP connection, bounded by Connect Timeout. The socket is reset when disposed (linger 0), so the doctor
    /// leaves no TIME_WAIT behind on the port range it measures.
    /// </summary>
    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(_endPoint!.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, LingerState = new LingerOption(true, 0) };
        try
        {
            using var timeout = new CancellationTokenSource(StepTimeout);
            await socket.ConnectAsync(_endPoint, timeout.Token).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A failed step, with SafeSql's classification of it (the kind and the explanation the library logs).</summary>
    private void AddConnectFailure(string id, string step, Stopwatch clock, Exception ex)
    {
        if (ex is OperationCanceledException)
        {
            Add("endpoint", id, DoctorStatus.Problem, $"{step}: no answer within Connect Timeout ({StepTimeout.TotalSeconds:0} s). SafeSql: ConnectTimeout. The later steps were not tried.", EndpointWhy, "Check that the server is up and that no firewall drops packets to this port.", new() { ["milliseconds"] = Round(clock.Elapsed), ["kind"] = nameof(SqlFailureKind.ConnectTimeout) });
            return;
        }

        var failure = SqlFailureClassifier.ClassifyForEndPoint(ex, _endPoint);
        Add(
            "endpoint",
            id,
            DoctorStatus.Problem,
            $"{step} failed after {Milliseconds(clock)}: {(ex as SocketException)?.SocketErrorCode.ToString() ?? ex.GetType().Name}. SafeSql: {failure.Kind}. The later steps were not tried.",
            failure.Explanation,
            "Start the server or correct the Data Source (host and port); see the explanation.",
            new() { ["milliseconds"] = Round(clock.Elapsed), ["kind"] = failure.Kind.ToString(), ["socketError"] = failure.SocketError?.ToString(), ["isTransient"] = failure.IsTransient });
    }

    private async Task<bool> CheckPreLoginAndTlsAsync()
    {
        var strict = _builder!.Encrypt == SqlConnectionEncryptOption.Strict;
        var mandatory = strict || _builder.Encrypt == SqlConnectionEncryptOption.Mandatory;
        var clock = Stopwatch.StartNew();
        Stream? tls = null;
        try
        {
            using var socket = await ConnectAsync().ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(StepTimeout);
            await using var network = new NetworkStream(socket, ownsSocket: false);
            PreLoginResponse response;
            TlsOutcome? outcome = null;
            if (strict)
            {
                // TDS 8.0: TLS first (ALPN tds/8.0), then PRELOGIN inside it; SqlClient sends ENCRYPT_NOT_SUP there.
                var ssl = new SslStream(network, leaveInnerStreamOpen: true);
                tls = ssl;
                outcome = await HandshakeAsync(ssl, alpn: true, clock, timeout.Token).ConfigureAwait(false);
                response = await PreLoginClient.ExchangeAsync(ssl, PreLoginPayload.EncryptNotSupported, timeout.Token).ConfigureAwait(false);
            }
            else
            {
                response = await PreLoginClient.ExchangeAsync(network, mandatory ? PreLoginPayload.EncryptOn : PreLoginPayload.EncryptOff, timeout.Token).ConfigureAwait(false);
            }

            var preLoginTime = clock.Elapsed;
            Add(
                "endpoint",
                "prelogin",
                DoctorStatus.Ok,
                $"PRELOGIN answered in {Milliseconds(preLoginTime)}: server version {response.ServerVersion?.ToString() ?? "not given"}, encryption {(strict ? "TDS 8.0 (Encrypt=Strict): TLS before PRELOGIN, whose answer is then moot" : response.EncryptionText)}.",
                EndpointWhy,
                null,
                new() { ["milliseconds"] = Round(preLoginTime), ["serverVersion"] = response.ServerVersion?.ToString(), ["encryption"] = response.Encryption });

            if (!strict)
            {
                if ((response.Encryption & 0x0F) == PreLoginPayload.EncryptNotSupported)
                {
                    return AddNoTls(mandatory);
                }

                var ssl = new SslStream(new TlsOverTdsStream(network, wrapInPreLogin: true), leaveInnerStreamOpen: true);
                tls = ssl;
                clock.Restart();
                outcome = await HandshakeAsync(ssl, alpn: false, clock, timeout.Token).ConfigureAwait(false);
            }

            return AddTls(outcome!, strict);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            AddConnectFailure("prelogin", "PRELOGIN", clock, ex);
            return false;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or AuthenticationException)
        {
            var step = tls is null ? "prelogin" : "tls";
            Add("endpoint", step, DoctorStatus.Problem, $"{(tls is null ? "PRELOGIN" : "The TLS handshake")} failed after {Milliseconds(clock)}: {ex.Message} The later steps were not tried.", EndpointWhy, tls is null ? "Check that this port is a SQL Server's." : "Compare the server's TLS settings with Encrypt and the TLS versions this machine allows.", new() { ["milliseconds"] = Round(clock.Elapsed), ["error"] = ex.Message });
            return false;
        }
        finally
        {
            if (tls is not null)
            {
                await tls.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private bool AddNoTls(bool mandatory)
    {
        if (mandatory)
        {
            Add("endpoint", "tls", DoctorStatus.Problem, $"The server does not support encryption (ENCRYPT_NOT_SUP) and the client requires it (Encrypt={_builder!.Encrypt}): SqlClient will refuse to log in.", "MS-TDS 2.2.6.5: a client that requires encryption closes the connection when the server offers none.", "Install a certificate on the server and enable encryption there, or (only on a trusted network) set Encrypt=False.");
            return false;
        }

        Add("endpoint", "tls", DoctorStatus.Warning, "The server does not support encryption (ENCRYPT_NOT_SUP): the login, password included, and the data travel in clear.", "Anyone on the path can read the password and the data.", "Enable encryption on the server and set Encrypt=True.");
        return true;
    }

    private sealed record TlsOutcome(SslProtocols Protocol, X509Certificate2? Certificate, SslPolicyErrors Errors, TimeSpan Elapsed, string TargetHost);

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5359", Justification = "The handshake only reports the certificate; nothing is sent over it, and WillSqlClientAccept decides as SqlClient will.")]
    private async Task<TlsOutcome> HandshakeAsync(SslStream ssl, bool alpn, Stopwatch clock, CancellationToken cancellationToken)
    {
        X509Certificate2? certificate = null;
        var errors = SslPolicyErrors.None;
        var targetHost = string.IsNullOrEmpty(_builder!.HostNameInCertificate) ? _source.Host : _builder.HostNameInCertificate;
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            ApplicationProtocols = alpn ? [s_tds8] : null,

            // Accept any certificate here, to report it; whether SqlClient will accept it is decided below from the string.
            RemoteCertificateValidationCallback = (_, presented, _, policyErrors) =>
            {
                certificate = presented is null ? null : new X509Certificate2(presented);
                errors = policyErrors;
                return true;
            },
        };
        await ssl.AuthenticateAsClientAsync(options, cancellationToken).ConfigureAwait(false);
        return new TlsOutcome(ssl.SslProtocol, certificate, errors, clock.Elapsed, targetHost);
    }

    private bool AddTls(TlsOutcome outcome, bool strict)
    {
        var certificate = outcome.Certificate;
        if (certificate is null)
        {
            Add("endpoint", "tls", DoctorStatus.Problem, $"TLS ({outcome.Protocol}) completed without a server certificate.", "SqlClient validates the server's certificate before it sends the login.", "Configure a certificate on the server.");
            return false;
        }

        var now = TimeProvider.System.GetUtcNow().UtcDateTime;
        var daysLeft = (certificate.NotAfter.ToUniversalTime() - now).TotalDays;
        var (accepted, how) = WillSqlClientAccept(certificate, outcome, strict);
        var status = !accepted || daysLeft < 0 ? DoctorStatus.Problem : daysLeft < 30 ? DoctorStatus.Warning : DoctorStatus.Ok;
        var expiry = daysLeft < 0 ? "EXPIRED" : $"{Math.Floor(daysLeft):0} days left";
        Add(
            "endpoint",
            "tls",
            status,
            $"{outcome.Protocol} in {Milliseconds(outcome.Elapsed)}; certificate {certificate.Subject}, issued by {certificate.Issuer}, expires {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd} ({expiry}); {how}",
            "SqlClient 4.0+ encrypts by default (Encrypt=True) and refuses a certificate it cannot validate; an expired certificate fails every new connection at once.",
            status == DoctorStatus.Ok ? null : accepted ? "Renew the server's certificate before it expires." : "Give the server a certificate this machine trusts for the host name, or pin it with Server Certificate=<path> (SqlClient 6.0+); TrustServerCertificate=True only on loopback.",
            new()
            {
                ["milliseconds"] = Round(outcome.Elapsed),
                ["protocol"] = outcome.Protocol.ToString(),
                ["subject"] = certificate.Subject,
                ["issuer"] = certificate.Issuer,
                ["notAfter"] = certificate.NotAfter.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                ["accepted"] = accepted,
            });
        return accepted;
    }

    /// <summary>How SqlClient decides: a pinned certificate must match byte for byte (Server Certificate, SqlClient 6.0+);
    /// TrustServerCertificate=True skips validation except under Encrypt=Strict; otherwise chain and host name must validate.</summary>
    private (bool Accepted, string How) WillSqlClientAccept(X509Certificate2 certificate, TlsOutcome outcome, bool strict)
    {
        if (!string.IsNullOrEmpty(_builder!.ServerCertificate))
        {
            try
            {
                using var pinned = X509CertificateLoader.LoadCertificateFromFile(_builder.ServerCertificate);
                return pinned.RawData.AsSpan().SequenceEqual(certificate.RawData)
                    ? (true, "matches the certificate pinned with Server Certificate.")
                    : (false, $"does NOT match the certificate pinned with Server Certificate ({pinned.Subject}, thumbprint {pinned.Thumbprint}): SqlClient will refuse it.");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                return (false, $"the Server Certificate file cannot be read ({ex.GetType().Name}): SqlClient will refuse the connection.");
            }
        }

        if (_builder.TrustServerCertificate && !strict)
        {
            return (true, "not validated (TrustServerCertificate=True).");
        }

        return outcome.Errors == SslPolicyErrors.None
            ? (true, $"valid for {outcome.TargetHost} on this machine.")
            : (false, $"NOT valid for {outcome.TargetHost} on this machine ({outcome.Errors}): SqlClient will refuse it.");
    }

    private async Task CheckLoginAsync()
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var timeout = new CancellationTokenSource(StepTimeout + TimeSpan.FromSeconds(5));
            await using var connection = new SqlConnection(_connectionString);
            await connection.OpenAsync(timeout.Token).ConfigureAwait(false);
            var elapsed = clock.Elapsed;
            Add("endpoint", "login", DoctorStatus.Ok, $"Login as {(_builder!.IntegratedSecurity ? "the current Windows/Kerberos identity" : $"'{_builder.UserID}'")} in {Milliseconds(elapsed)} (SqlClient {SqlClientVersion}, server {connection.ServerVersion}).", EndpointWhy, null, new() { ["milliseconds"] = Round(elapsed), ["serverVersion"] = connection.ServerVersion });
            await ReadServerLimitAsync(connection).ConfigureAwait(false);
            SqlConnection.ClearPool(connection);
        }
        catch (Exception ex) when (ex is SqlException or InvalidOperationException or OperationCanceledException or IOException)
        {
            var failure = SqlFailureClassifier.ClassifyOpenFailure(ex, _builder!.DataSource);
            Add(
                "endpoint",
                "login",
                DoctorStatus.Problem,
                $"Login failed after {Milliseconds(clock)}: {failure.Kind}{(failure.SqlErrorNumber is { } number ? $" (error {number})" : string.Empty)}: {ex.Message}",
                failure.Explanation,
                "See the explanation; for a login failure check the user, the password and the default database.",
                new() { ["milliseconds"] = Round(clock.Elapsed), ["kind"] = failure.Kind.ToString(), ["sqlErrorNumber"] = failure.SqlErrorNumber, ["isTransient"] = failure.IsTransient });
        }
    }

    /// <summary>Reads the server's user connection limit for the pool check (@@MAX_CONNECTIONS: 32,767 unless configured lower).</summary>
    private async Task ReadServerLimitAsync(SqlConnection connection)
    {
        try
        {
            await using var command = new SqlCommand("SELECT @@MAX_CONNECTIONS", connection) { CommandTimeout = 5 };
            _serverMaxConnections = Convert.ToInt32(await command.ExecuteScalarAsync().ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is SqlException or InvalidCastException or FormatException or InvalidOperationException)
        {
            _serverMaxConnectionsUnknown = ex is SqlException sql ? $"error {sql.Number}" : ex.GetType().Name;
        }
    }
}

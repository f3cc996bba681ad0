using System.Globalization;
using System.Net.Sockets;

using static SafeSql.EncryptionSignatures;

namespace SafeSql;

/// <summary>The explanations of <see cref="SqlFailureKind.EncryptionFailure"/>: the cause found and its fix.</summary>
internal static partial class Explanations
{
    internal const string CertificateRejectedLead =
        "The server's TLS certificate was rejected during the pre-login handshake (SqlException Number -2146893019, SEC_E_UNTRUSTED_ROOT, " +
        "with an inner AuthenticationException), so no login was sent.";

    internal const string PinMismatch =
        "The certificate the server presented is not the one pinned with Server Certificate: the server's certificate was rotated " +
        "(renewed or replaced). Update the pinned file to the server's current certificate (exported as .cer) and keep Server Certificate=<path> pointing at it.";

    internal const string CertificateExpired =
        "The certificate has expired or is not yet valid (X509 chain status NotTimeValid). Renew the server's certificate and restart " +
        "SQL Server so it loads the new one; if the dates look right, check this machine's clock.";

    internal const string UntrustedChain =
        "The certificate chain ends at a root this client does not trust (X509 chain status UntrustedRoot), typically the self-signed " +
        "certificate SQL Server generates when it has none. Install the issuing CA's certificate in this client's trusted root store, " +
        "give the server a certificate from a CA the clients already trust, or pin the server's certificate with " +
        "Server Certificate=<path to its .cer> (SqlClient 6.0.1+).";

    internal const string NameMismatch =
        "The name in the certificate does not match the Data Source (SqlClient's \"Certificate name mismatch\"). Connect with a name " +
        "the certificate carries, or set HostNameInCertificate to that name (for example when connecting by IP address or through an alias).";

    internal const string CertificateCauseUnknown =
        "SafeSql did not recognize the reason; the inner AuthenticationException's message gives it.";

    internal const string TrustServerCertificateNote =
        "TrustServerCertificate=True would silence this by turning server authentication off (anyone on the path can then read the " +
        "password): acceptable only for a loopback or development server.";

    internal const string EncryptionNotRetried = "Not retried: every attempt fails the same way until the certificate, the server or the connection string changes.";

    internal const string EncryptionNotSupported =
        "The server does not support encryption (SqlException Number 20, \"The instance of SQL Server you attempted to connect to " +
        "does not support encryption\"): it answered the pre-login with ENCRYPT_NOT_SUP, while this client requires encryption " +
        "(Encrypt=Mandatory, SqlClient's default since 4.0). Enable TLS on the server (give SQL Server a certificate in SQL Server " +
        "Configuration Manager). Only for a development server, Encrypt=Optional connects without TLS: then the login, password " +
        "included, travels in clear. " + EncryptionNotRetried;

    internal const string HandshakeClosed =
        "The server closed the connection during the TLS handshake while opening (SqlException Number 0, \"SSL Provider, error: 31 - " +
        "Encryption(ssl/tls) handshake failed\", inner IOException without a socket error: an unexpected end of stream). With " +
        "Encrypt=Strict this is how a server without TDS 8.0 answers (SQL Server 2019 and older, or a server without TLS): Strict " +
        "starts with TLS and such a server drops the connection. Against it use Encrypt=Mandatory with a trusted or pinned " +
        "certificate, or move the server to SQL Server 2022 with a certificate. Without Strict, the server or a device on the path " +
        "refused this client's TLS versions or cipher suites (check that the server supports TLS 1.2). Nothing was sent. " + EncryptionNotRetried;

    internal const string HandshakeNegotiation =
        "The TLS handshake failed while opening (SqlException Number 0, \"SSL Provider, error: 31 - Encryption(ssl/tls) handshake " +
        "failed\"): the client and the server found no common TLS version or cipher suite, or the server rejected the handshake. " +
        "Check that the server supports TLS 1.2 (or TLS 1.3 with Encrypt=Strict); the inner exception names the reason. Nothing was sent. " +
        EncryptionNotRetried;

    internal static string CertificateRejected(CertificateProblems problems, IReadOnlyList<string> otherStatuses)
    {
        var parts = new List<string> { CertificateRejectedLead };
        if (problems.HasFlag(CertificateProblems.PinMismatch))
        {
            parts.Add(PinMismatch);
        }

        if (problems.HasFlag(CertificateProblems.Expired))
        {
            parts.Add(CertificateExpired);
        }

        if (problems.HasFlag(CertificateProblems.UntrustedChain))
        {
            parts.Add(UntrustedChain);
        }

        if (problems.HasFlag(CertificateProblems.NameMismatch))
        {
            parts.Add(NameMismatch);
        }

        if (problems.HasFlag(CertificateProblems.OtherChainStatus))
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"The chain check also reported {string.Join(", ", otherStatuses)} (X509 chain status)."));
        }
        else if (problems == CertificateProblems.None)
        {
            parts.Add(CertificateCauseUnknown);
        }

        parts.Add(TrustServerCertificateNote);
        parts.Add(EncryptionNotRetried);
        return string.Join(" ", parts);
    }

    internal static string HandshakeReset(SocketError? error) =>
        string.Create(CultureInfo.InvariantCulture, $"The TLS handshake was reset while opening (SqlException Number 0, \"SSL Provider, error: 31 - Encryption(ssl/tls) handshake failed\", inner socket error {error?.ToString() ?? "unknown"}): ") +
        "the server, or a firewall or TLS-inspecting proxy on the path, dropped the connection in the middle of the handshake, before " +
        "the login. This is not a broken connection: a server or device that rejects this client's TLS versions, cipher suites or " +
        "certificate request does so on every attempt. Check that the server supports TLS 1.2, look for a device on the path, and read " +
        "the server's error log. Nothing was sent. " + EncryptionNotRetried;
}

using System.Net;

using Microsoft.Data.SqlClient;

namespace SafeSql.ConnectionStrings;

/// <summary>The encryption rules: <c>TrustServerCertificate=True</c> (SAFESQL013) and <c>Encrypt=False</c>/<c>Optional</c> (SAFESQL014).</summary>
internal sealed partial class SqlConnectionStringEvaluation
{
    private const string TrustServerCertificateKeyword = "Trust Server Certificate";
    private const string EncryptKeyword = "Encrypt";

    private void ApplyEncryptionRules()
    {
        if (string.IsNullOrWhiteSpace(_parsed.DataSource))
        {
            return;
        }

        // The host is free text: after an unquoted password it may be part of it, and is then withheld like the Data Source.
        var host = Displayed(SqlClientKeywords.DataSource, ServerHost(_parsed.DataSource, out var loopback));
        var strict = _parsed.Encrypt == SqlConnectionEncryptOption.Strict;

        // Under Encrypt=Strict SqlClient validates the certificate whatever TrustServerCertificate says.
        if (_parsed.TrustServerCertificate && !strict && _entries.ContainsKey(TrustServerCertificateKeyword))
        {
            AddTrustServerCertificate(host, loopback);
        }

        if (_parsed.Encrypt == SqlConnectionEncryptOption.Optional && _entries.TryGetValue(EncryptKeyword, out var encrypt) && !loopback && !_options.AllowUnencryptedConnection)
        {
            Add(
                SqlConnectionStringRules.EncryptionOff,
                EncryptKeyword,
                encrypt.Value,
                $"{Shown(EncryptKeyword)} towards {host}, a server that is not on the loopback interface, leaves the connection unencrypted unless the server forces encryption.",
                "SqlClient then encrypts only the login, in a TLS session whose certificate it does not validate, and sends every query and every row after it in clear; against a server without encryption even the password travels in clear. SqlClient encrypts the whole connection by default (Encrypt=True since 4.0, Mandatory since 5.0).",
                "Remove Encrypt (the default, Mandatory, encrypts the whole connection and validates the certificate), or use Encrypt=Strict (TDS 8.0) against SQL Server 2022 and later; make the certificate verifiable (a trusted CA, or Server Certificate=<path to its .cer>). If the data may travel in clear on this network, set SqlConnectionStringPolicyOptions.AllowUnencryptedConnection to true.");
        }
    }

    private void AddTrustServerCertificate(string host, bool loopback)
    {
        const string Reason =
            "It keeps TLS but accepts any certificate, so the client no longer knows it talks to its server: whoever can intercept the connection (a compromised router, a DNS or ARP spoof, a rogue access point) can present a certificate of their own and read the password and every row. It is the usual workaround for \"The certificate chain was issued by an authority that is not trusted\", which SafeSql explains as an EncryptionFailure.";
        const string VerifiableFix =
            "make the certificate verifiable: install the issuing CA's certificate on this machine, or pin the server's certificate with Server Certificate=<path to its .cer> (SqlClient 6.0.1+), and set HostNameInCertificate when connecting by another name than the certificate's.";
        var value = _entries[TrustServerCertificateKeyword].Value;
        var where = loopback
            ? ", which is on the loopback interface but judged like a remote server (SqlConnectionStringPolicyOptions.AllowTrustServerCertificateOnLoopback is false)"
            : ", a server that is not on the loopback interface";
        if (loopback && _options.AllowTrustServerCertificateOnLoopback)
        {
            Add(
                SqlConnectionStringRules.TrustServerCertificate,
                SqlConnectionStringFindingSeverity.Warning,
                TrustServerCertificateKeyword,
                value,
                $"{Shown(TrustServerCertificateKeyword)} turns off the validation of the server's certificate; {host} is on the loopback interface, so this is a warning.",
                "Traffic to the loopback interface does not leave this machine, so nobody can intercept it; but the same connection string pointed at another server would hand the password to whoever answers.",
                "Prefer pinning the server's certificate with Server Certificate=<path to its .cer> (SqlClient 6.0.1+), and never deploy this connection string against another server.");
            return;
        }

        if (_options.AllowTrustServerCertificate)
        {
            Add(
                SqlConnectionStringRules.TrustServerCertificate,
                SqlConnectionStringFindingSeverity.Warning,
                TrustServerCertificateKeyword,
                value,
                $"{Shown(TrustServerCertificateKeyword)} turns off the validation of the certificate of {host}{where} (allowed by SqlConnectionStringPolicyOptions.AllowTrustServerCertificate, so this is a warning).",
                Reason,
                "Remove TrustServerCertificate as soon as the server can be authenticated: " + VerifiableFix);
            return;
        }

        Add(
            SqlConnectionStringRules.TrustServerCertificate,
            TrustServerCertificateKeyword,
            value,
            $"{Shown(TrustServerCertificateKeyword)} turns off the validation of the certificate of {host}{where}.",
            Reason,
            "Remove TrustServerCertificate and " + VerifiableFix + " If this server truly cannot be authenticated, set SqlConnectionStringPolicyOptions.AllowTrustServerCertificate to true.");
    }

    /// <summary>
    /// The server's host as the Data Source names it, and whether it is on the loopback interface: <c>localhost</c>, <c>.</c>,
    /// <c>(local)</c>, <c>(localdb)</c>, an address in 127.0.0.0/8 or <c>::1</c>, or shared memory (<c>lpc:</c>). Other names
    /// are not resolved (a policy check makes no DNS query), so they count as remote.
    /// </summary>
    private static string ServerHost(string dataSource, out bool loopback)
    {
        var text = dataSource.Trim();
        if (text.StartsWith("lpc:", StringComparison.OrdinalIgnoreCase))
        {
            loopback = true;
            return "this machine (shared memory)";
        }

        string host;
        if (text.StartsWith("np:", StringComparison.OrdinalIgnoreCase))
        {
            // np:\\host\pipe\sql\query
            var path = text[3..].TrimStart('\\');
            var end = path.IndexOf('\\', StringComparison.Ordinal);
            host = end < 0 ? path : path[..end];
            if (host is "." or "")
            {
                host = "localhost";
            }
        }
        else if (SqlServerAddress.TryParse(text, out var source))
        {
            host = source.Host;
        }
        else
        {
            loopback = false;
            return "the server";
        }

        loopback = host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
        return host;
    }
}

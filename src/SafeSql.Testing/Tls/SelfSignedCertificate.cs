using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SafeSql.Testing.Tls;

/// <summary>Creates the server certificates: self-signed, RSA 2048 / SHA-256 like the certificate SQL Server generates for
/// itself when none is configured, usable for TLS server authentication (key usage, extended key usage serverAuth).</summary>
/// <remarks>Every certificate is new (its own serial number, validity and bytes, so a pin on one never matches another), but
/// all are signed with one RSA key per process: generating an RSA 2048 key costs hundreds of milliseconds of CPU (436 ms on
/// average measured on the 2-core CI VM), which every server start would pay otherwise. The key never leaves the process.</remarks>
internal static class SelfSignedCertificate
{
    private static readonly Lazy<RSA> s_key = new(() => RSA.Create(2048), LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lock s_signing = new();

    /// <summary>The names of the default certificate: what a client connecting to the loopback server types.</summary>
    public static readonly string[] LoopbackDnsNames = ["localhost"];

    /// <summary>A name no client connects to: the certificate of the host-name-mismatch fault carries only this one.</summary>
    public const string OtherHostName = "safesql-other-host.invalid";

    private const string ServerAuthenticationOid = "1.3.6.1.5.5.7.3.1";

    /// <summary>Creates a certificate for <paramref name="dnsNames"/> (and 127.0.0.1 when <paramref name="includeLoopbackAddress"/>),
    /// valid from <paramref name="notBefore"/> to <paramref name="notAfter"/>, with its private key.</summary>
    public static X509Certificate2 Create(string[] dnsNames, bool includeLoopbackAddress, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + dnsNames[0]), s_key.Value, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            names.AddDnsName(name);
        }

        if (includeLoopbackAddress)
        {
            names.AddIpAddress(IPAddress.Loopback);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthenticationOid)], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        X509Certificate2 certificate;
        lock (s_signing)
        {
            // CreateSelfSigned draws a random serial number, so each certificate differs from every other one.
            certificate = request.CreateSelfSigned(notBefore, notAfter);
        }

        if (OperatingSystem.IsWindows())
        {
            // SChannel cannot use the ephemeral key CreateSelfSigned attaches; a PKCS#12 round trip gives it a usable one.
            using (certificate)
            {
                return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);
            }
        }

        return certificate;
    }
}

using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace SafeSql.Testing.Tls;

/// <summary>
/// The certificates of one server: the current one (generated or supplied, replaceable at run time), exported as a DER
/// <c>.cer</c> file a client can pin, and the fault certificates (expired, issued for another host), created on first use.
/// Every exported file lives in one temporary folder that <see cref="Dispose"/> deletes; a replaced certificate's file stays
/// until then, so a connection string that still pins it keeps pointing at a readable file.
/// </summary>
internal sealed class ServerCertificates : IDisposable
{
    private readonly Lock _lock = new();
    private readonly string _directory;
    private Entry _current;
    private Entry? _expired;
    private Entry? _otherHost;
    private int _files;

    public ServerCertificates(X509Certificate2? supplied)
    {
        _directory = Path.Combine(Path.GetTempPath(), "safesql-loopback-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        try
        {
            _current = CreateEntry(supplied ?? CreateLoopback(), export: true);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public X509Certificate2 Current
    {
        get
        {
            lock (_lock)
            {
                return _current.Certificate;
            }
        }
    }

    public string CurrentPath
    {
        get
        {
            lock (_lock)
            {
                return _current.Path!;
            }
        }
    }

    /// <summary>Validates a certificate supplied in the options: the server needs its private key.</summary>
    public static void Validate(X509Certificate2? certificate, string paramName)
    {
        if (certificate is not null && !certificate.HasPrivateKey)
        {
            throw new ArgumentException(
                $"The server certificate '{certificate.Subject}' has no private key, so the server cannot complete a TLS handshake with it. Supply the certificate with its key (for example loaded from a PKCS#12 file), or leave it null to let the server generate one.",
                paramName);
        }
    }

    /// <summary>Replaces the current certificate (a new self-signed one when <paramref name="replacement"/> is null).</summary>
    public X509Certificate2 Rotate(X509Certificate2? replacement)
    {
        var entry = CreateEntry(replacement ?? CreateLoopback(), export: true);
        lock (_lock)
        {
            _current = entry;
        }

        return entry.Certificate;
    }

    /// <summary>Returns what the server presents in the next handshake.</summary>
    public SslStreamCertificateContext Select(bool expired, bool otherHost)
    {
        if (expired)
        {
            return GetOrCreate(ref _expired, () => SelfSignedCertificate.Create(SelfSignedCertificate.LoopbackDnsNames, includeLoopbackAddress: true, Now().AddDays(-30), Now().AddDays(-1))).Context;
        }

        if (otherHost)
        {
            return GetOrCreate(ref _otherHost, () => SelfSignedCertificate.Create([SelfSignedCertificate.OtherHostName], includeLoopbackAddress: false, Now().AddDays(-1), Now().AddYears(1))).Context;
        }

        lock (_lock)
        {
            return _current.Context;
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The client checks validity against its own clock, so certificates use the real one, whatever time provider
    /// the server's delays use.</summary>
    private static DateTimeOffset Now() => TimeProvider.System.GetUtcNow();

    private static X509Certificate2 CreateLoopback() =>
        SelfSignedCertificate.Create(SelfSignedCertificate.LoopbackDnsNames, includeLoopbackAddress: true, Now().AddDays(-1), Now().AddYears(1));

    private Entry GetOrCreate(ref Entry? slot, Func<X509Certificate2> create)
    {
        lock (_lock)
        {
            return slot ??= CreateEntry(create(), export: false);
        }
    }

    private Entry CreateEntry(X509Certificate2 certificate, bool export)
    {
        // offline: the chain of a self-signed certificate is the certificate itself; never fetch anything.
        var context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
        string? path = null;
        if (export)
        {
            var n = Interlocked.Increment(ref _files);
            path = Path.Combine(_directory, string.Create(CultureInfo.InvariantCulture, $"loopback-{n}.cer"));
            File.WriteAllBytes(path, certificate.RawData);
        }

        return new Entry(certificate, context, path);
    }

    private sealed record Entry(X509Certificate2 Certificate, SslStreamCertificateContext Context, string? Path);
}

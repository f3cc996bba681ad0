using System.Collections.Concurrent;
using System.Globalization;
using System.IO;
using System.Net.Sockets;
using System.Resources;
using System.Security.Authentication;
using System.Text.RegularExpressions;

using Microsoft.Data.SqlClient;

namespace SafeSql;

/// <summary>
/// What SqlClient 6.1+ reports when a connection cannot be encrypted, read from its stable parts: the number, the
/// unlocalized "(provider: ..., error: 31 ...)" frame, the inner exception types and the X509 chain status names. Two causes
/// are told only by SqlClient's own text (a pin that no longer matches, a name mismatch); those are matched in English and in
/// the current UI culture, from SqlClient's resources.
/// </summary>
internal static partial class EncryptionSignatures
{
    /// <summary>SEC_E_UNTRUSTED_ROOT (0x80090325): the number SqlClient's managed network layer gives every certificate it rejects.</summary>
    internal const int CertificateRejectedNumber = -2146893019;

    /// <summary>
    /// SqlClient's TdsEnums.ENCRYPTION_NOT_SUPPORTED: "The instance of SQL Server you attempted to connect to does not support
    /// encryption." (no server message has a number below 21).
    /// </summary>
    internal const int EncryptionNotSupportedNumber = 20;

    /// <summary>SNI error 31, "Encryption(ssl/tls) handshake failed" (SNICommon.HandshakeFailureError).</summary>
    internal const int HandshakeFailedProviderError = 31;

    private const string ResourceBaseName = "Microsoft.Data.SqlClient.Resources.Strings";
    private const string PinMismatchKey = "SQL_RemoteCertificateDoesNotMatchServerCertificate";
    private const string NameMismatchKey = "SQL_RemoteCertificateNameMismatch";

    // English text of those resources (Strings.resx), identical in 6.1.8 and 7.1.1.
    private const string PinMismatchText = "The certificate provided by the server does not match the certificate provided by the ServerCertificate option.";
    private const string NameMismatchText = "Certificate name mismatch.";

    private static readonly ConcurrentDictionary<CultureInfo, (string? PinMismatch, string? NameMismatch)> s_localized = new();
    private static ResourceManager? s_resources;

    /// <summary>The causes a certificate rejection can name; several can be found together.</summary>
    [Flags]
    internal enum CertificateProblems
    {
        None = 0,
        PinMismatch = 1,
        Expired = 2,
        UntrustedChain = 4,
        NameMismatch = 8,
        OtherChainStatus = 16,
    }

    /// <summary>How a TLS handshake failed when SqlClient reports provider error 31.</summary>
    internal enum HandshakeFailure
    {
        /// <summary>The peer reset the connection mid-handshake (an inner <see cref="SocketException"/>).</summary>
        Reset,

        /// <summary>The peer closed the connection (an <see cref="IOException"/> without a socket error: "unexpected EOF").</summary>
        Closed,

        /// <summary>The handshake itself failed (an <see cref="AuthenticationException"/>, for example no common protocol).</summary>
        Negotiation,
    }

    /// <summary>Reads the causes of a certificate rejection from the inner <see cref="AuthenticationException"/>.</summary>
    /// <param name="sql">The exception whose Number is <see cref="CertificateRejectedNumber"/>.</param>
    /// <param name="otherStatuses">The chain status names besides NotTimeValid, UntrustedRoot and PartialChain.</param>
    internal static CertificateProblems ReadCertificateProblems(SqlException sql, out IReadOnlyList<string> otherStatuses)
    {
        var problems = CertificateProblems.None;
        var others = new List<string>();
        otherStatuses = others;
        var authentication = Find<AuthenticationException>(sql);
        if (authentication is null)
        {
            return problems;
        }

        var message = authentication.Message;
        var (pinLocalized, nameLocalized) = GetLocalizedTexts();
        if (Contains(message, PinMismatchText, pinLocalized))
        {
            problems |= CertificateProblems.PinMismatch;
        }

        if (Contains(message, NameMismatchText, nameLocalized))
        {
            problems |= CertificateProblems.NameMismatch;
        }

        // SqlClient writes each X509ChainStatus as "<StatusInformation>, [Status: <X509ChainStatusFlags name>]": the names are
        // enum names, not localized text.
        foreach (Match match in ChainStatusPattern().Matches(message))
        {
            var status = match.Groups[1].Value;
            switch (status)
            {
                case "NotTimeValid":
                    problems |= CertificateProblems.Expired;
                    break;
                case "UntrustedRoot":
                case "PartialChain":
                    problems |= CertificateProblems.UntrustedChain;
                    break;
                default:
                    if (!others.Contains(status, StringComparer.Ordinal))
                    {
                        others.Add(status);
                        problems |= CertificateProblems.OtherChainStatus;
                    }

                    break;
            }
        }

        return problems;
    }

    /// <summary>Tells a reset handshake from a closed one by the inner exception types.</summary>
    internal static HandshakeFailure ReadHandshakeFailure(SqlException sql, out SocketError? socketError)
    {
        socketError = null;
        if (Find<SocketException>(sql) is { } socket)
        {
            socketError = socket.SocketErrorCode;
            return HandshakeFailure.Reset;
        }

        return Find<AuthenticationException>(sql) is null && Find<IOException>(sql) is not null ? HandshakeFailure.Closed : HandshakeFailure.Negotiation;
    }

    private static T? Find<T>(Exception exception)
        where T : Exception
    {
        var depth = 0;
        for (var inner = exception.InnerException; inner is not null && depth < 16; inner = inner.InnerException, depth++)
        {
            if (inner is T found)
            {
                return found;
            }
        }

        return null;
    }

    private static bool Contains(string message, string english, string? localized) =>
        message.Contains(english, StringComparison.Ordinal)
        || (!string.IsNullOrEmpty(localized) && message.Contains(localized, StringComparison.Ordinal));

    private static (string? PinMismatch, string? NameMismatch) GetLocalizedTexts()
    {
        var culture = CultureInfo.CurrentUICulture;
        return s_localized.TryGetValue(culture, out var texts) ? texts : s_localized.GetOrAdd(culture, LoadTexts);
    }

    private static (string? PinMismatch, string? NameMismatch) LoadTexts(CultureInfo culture)
    {
        try
        {
            var resources = s_resources ??= new ResourceManager(ResourceBaseName, typeof(SqlConnection).Assembly);
            var name = resources.GetString(NameMismatchKey, culture);

            // Only the first sentence: the rest names the keywords and may be followed by other errors.
            var period = name?.IndexOf('.', StringComparison.Ordinal) ?? -1;
            return (resources.GetString(PinMismatchKey, culture), period > 0 ? name![..(period + 1)] : name);
        }
        catch (Exception ex) when (ex is MissingManifestResourceException or MissingSatelliteAssemblyException or InvalidOperationException)
        {
            return (null, null);
        }
    }

    [GeneratedRegex(@"\[Status: (\w+)\]", RegexOptions.CultureInvariant)]
    private static partial Regex ChainStatusPattern();
}

using System.Globalization;
using System.Net;

using SafeSql.ConnectionStrings;

namespace SafeSql.Classification;

/// <summary>What the caller knows about the failed operation.</summary>
internal enum SqlOperationPhase
{
    /// <summary>Not known: decided from the exception's stack frames.</summary>
    Unknown = 0,

    /// <summary>The exception came from opening a connection (<c>Open</c>/<c>OpenAsync</c>): nothing was sent to the server.</summary>
    Open = 1,

    /// <summary>The exception came from executing a command, reading results or committing: the request may have executed.</summary>
    Execute = 2,
}

/// <summary>The inputs of one classification besides the exception.</summary>
/// <param name="Phase">What the caller knows about the failed operation.</param>
/// <param name="DataSource">The connection string's <c>Data Source</c>, or <see langword="null"/>.</param>
/// <param name="EndPoint">The server's endpoint, or <see langword="null"/>.</param>
/// <param name="Evidence">Where the operating-system evidence comes from.</param>
/// <param name="Resolver">The resolver of <paramref name="DataSource"/> kept by a retry policy; <see langword="null"/> to use the shared one.</param>
internal readonly record struct SqlClassificationContext(SqlOperationPhase Phase, string? DataSource, EndPoint? EndPoint, ITcpEvidenceSource Evidence, SqlEndPointResolver? Resolver = null)
{
    internal static SqlClassificationContext Default => new(SqlOperationPhase.Unknown, null, null, OsTcpEvidenceSource.Shared);

    /// <summary>
    /// Resolves the endpoint the OS evidence is about: an IP literal or localhost without DNS; a host name through a resolver
    /// that caches the answer for 1 s (DNS bounded to 500 ms), so failed opens do not each block on a lookup.
    /// </summary>
    internal IPEndPoint? ResolveEndPoint()
    {
        switch (EndPoint)
        {
            case IPEndPoint ip:
                return ip;
            case DnsEndPoint dns:
                var source = new SqlDataSource(dns.Host, dns.Port, IsTcp: true);
                return source.TryGetEndPointWithoutDns(out var endPoint)
                    ? endPoint
                    : SqlEndPointResolver.Shared(string.Create(CultureInfo.InvariantCulture, $"tcp:{dns.Host},{dns.Port}")).Resolve();
        }

        if (Resolver is not null)
        {
            return Resolver.Resolve();
        }

        return DataSource is null ? null : SqlEndPointResolver.Shared(DataSource).Resolve();
    }
}

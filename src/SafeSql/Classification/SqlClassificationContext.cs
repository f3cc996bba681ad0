using System.Globalization;
using System.Net;

using SafeSql.ConnectionStrings;

namespace SafeSql;

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
/// <param name="OpenConnections">
/// How many connections to this server the caller's pool holds open right now (the data source's leased count), or
/// <see langword="null"/> if unknown: a server that holds sessions is up and accepting, so a refusal or a dropped SYN next to
/// them is its listen backlog overflowing.
/// </param>
internal readonly record struct SqlClassificationContext(SqlOperationPhase Phase, string? DataSource, EndPoint? EndPoint, ITcpEvidenceSource Evidence, SqlEndPointResolver? Resolver = null, Func<int>? OpenConnections = null)
{
    internal static SqlClassificationContext Default => new(SqlOperationPhase.Unknown, null, null, OsTcpEvidenceSource.Shared);

    /// <summary>
    /// Resolves the endpoint the OS evidence is about, for a synchronous caller: an IP literal or localhost without DNS; a host
    /// name through a resolver that reuses the answer for 1 s, so failed opens do not each make a lookup.
    /// </summary>
    internal IPEndPoint? ResolveEndPoint() => ResolverOrLiteral(out var literal) is { } resolver ? resolver.Resolve() : literal;

    /// <summary>The asynchronous <see cref="ResolveEndPoint"/>: one lookup in flight per host (bounded to 500 ms), no thread blocked.</summary>
    internal ValueTask<IPEndPoint?> ResolveEndPointAsync() =>
        ResolverOrLiteral(out var literal) is { } resolver ? resolver.ResolveAsync() : new ValueTask<IPEndPoint?>(literal);

    private SqlEndPointResolver? ResolverOrLiteral(out IPEndPoint? literal)
    {
        literal = null;
        switch (EndPoint)
        {
            case IPEndPoint ip:
                literal = ip;
                return null;
            case DnsEndPoint dns:
                var source = new SqlServerAddress(dns.Host, dns.Port, IsTcp: true);
                if (source.TryGetEndPointWithoutDns(out var endPoint))
                {
                    literal = endPoint;
                    return null;
                }

                return SqlEndPointResolver.Shared(string.Create(CultureInfo.InvariantCulture, $"tcp:{dns.Host},{dns.Port}"));
        }

        return Resolver ?? (DataSource is null ? null : SqlEndPointResolver.Shared(DataSource));
    }
}

using System.Net;

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
internal readonly record struct SqlClassificationContext(SqlOperationPhase Phase, string? DataSource, EndPoint? EndPoint, ITcpEvidenceSource Evidence)
{
    internal static SqlClassificationContext Default => new(SqlOperationPhase.Unknown, null, null, OsTcpEvidenceSource.Shared);

    /// <summary>Resolves the endpoint the OS evidence is about (IP literal, localhost, or DNS bounded to 500 ms).</summary>
    internal IPEndPoint? ResolveEndPoint()
    {
        switch (EndPoint)
        {
            case IPEndPoint ip:
                return ip;
            case DnsEndPoint dns:
                return new SqlDataSource(dns.Host, dns.Port, IsTcp: true).ToEndPoint(s_resolveTimeout);
        }

        return SqlDataSource.TryParse(DataSource, out var source) && source.IsTcp ? source.ToEndPoint(s_resolveTimeout) : null;
    }

    private static readonly TimeSpan s_resolveTimeout = TimeSpan.FromMilliseconds(SafeSqlDefaults.DiagnosticConnectTimeoutMilliseconds);
}

using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

using SafeSql.Diagnostics;

namespace SafeSql.ConnectionStrings;

/// <summary>
/// The TCP endpoint named by a SqlClient <c>Data Source</c> (<c>tcp:host,port</c>, <c>host\instance</c>, <c>(local)</c>...),
/// used to point the operating-system probe at the failing server and by <c>safesql doctor</c>. Part of the integration API
/// (<c>SAFESQLEXP002</c>).
/// </summary>
/// <param name="Host">The host name or IP literal (<c>localhost</c> for <c>.</c>, <c>(local)</c> and <c>(localdb)</c>).</param>
/// <param name="Port">The TCP port: 1433 when none is given, 0 for a named instance without a port (SQL Browser picks it).</param>
/// <param name="IsTcp"><see langword="false"/> for named pipes (<c>np:</c>) and shared memory (<c>lpc:</c>).</param>
[Experimental(IntegrationApi.ExperimentalId, UrlFormat = IntegrationApi.ExperimentalUrl)]
public readonly record struct SqlServerAddress(string Host, int Port, bool IsTcp)
{
    /// <summary>SQL Server's default TCP port.</summary>
    internal const int DefaultPort = 1433;

    /// <summary>
    /// Parses a data source. Named pipes (<c>np:</c>) and shared memory (<c>lpc:</c>) are not TCP; a named instance without a
    /// port (<c>host\instance</c>) gets port 0 ("any port": SQL Browser picks it).
    /// </summary>
    /// <param name="dataSource">The <c>Data Source</c> value of a connection string.</param>
    /// <param name="result">The address, or <see langword="default"/> when the value cannot be parsed.</param>
    /// <returns><see langword="false"/> when <paramref name="dataSource"/> is empty or its port is not 1 to 65535.</returns>
    public static bool TryParse(string? dataSource, out SqlServerAddress result)
    {
        result = default;
        if (string.IsNullOrWhiteSpace(dataSource))
        {
            return false;
        }

        var text = dataSource.Trim();
        var isTcp = true;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && !text.StartsWith('['))
        {
            var prefix = text[..colon];
            if (prefix.Equals("tcp", StringComparison.OrdinalIgnoreCase) || prefix.Equals("admin", StringComparison.OrdinalIgnoreCase))
            {
                text = text[(colon + 1)..];
            }
            else if (prefix.Equals("np", StringComparison.OrdinalIgnoreCase) || prefix.Equals("lpc", StringComparison.OrdinalIgnoreCase))
            {
                text = text[(colon + 1)..];
                isTcp = false;
            }
        }

        var port = DefaultPort;
        var comma = text.LastIndexOf(',');
        if (comma >= 0)
        {
            if (!int.TryParse(text.AsSpan(comma + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is <= 0 or > 65535)
            {
                return false;
            }

            text = text[..comma];
        }

        var backslash = text.IndexOf('\\', StringComparison.Ordinal);
        if (backslash >= 0)
        {
            text = text[..backslash];
            if (comma < 0)
            {
                port = 0;
            }
        }

        var host = text.Trim();
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (host.Length == 0 || host == "." || host.Equals("(local)", StringComparison.OrdinalIgnoreCase) || host.Equals("(localdb)", StringComparison.OrdinalIgnoreCase))
        {
            host = "localhost";
        }

        result = new SqlServerAddress(host, port, isTcp);
        return true;
    }

    /// <summary>
    /// The endpoint without DNS: an IP literal, or <c>localhost</c> as 127.0.0.1; for other names the address is
    /// <see cref="IPAddress.Any"/> ("any address on that port").
    /// </summary>
    internal IPEndPoint ToEndPoint() => TryGetEndPointWithoutDns(out var endPoint) ? endPoint : FromAddresses(null);

    /// <summary>Gets the endpoint when <see cref="Host"/> needs no DNS: an IP literal, or <c>localhost</c> (127.0.0.1).</summary>
    internal bool TryGetEndPointWithoutDns(out IPEndPoint endPoint)
    {
        if (IPAddress.TryParse(Host, out var address))
        {
            endPoint = new IPEndPoint(address, Port);
            return true;
        }

        if (Host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            endPoint = new IPEndPoint(IPAddress.Loopback, Port);
            return true;
        }

        endPoint = null!;
        return false;
    }

    /// <summary>The endpoint on the first IPv4 address (else the first address); <see cref="IPAddress.Any"/> when there is none.</summary>
    internal IPEndPoint FromAddresses(IPAddress[]? addresses)
    {
        var first = addresses is null ? null : Array.Find(addresses, a => a.AddressFamily == AddressFamily.InterNetwork) ?? (addresses.Length > 0 ? addresses[0] : null);
        return new IPEndPoint(first ?? IPAddress.Any, Port);
    }
}

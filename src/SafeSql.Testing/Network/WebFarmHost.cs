using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace SafeSql.Testing.Network;

/// <summary>One host of a <see cref="WebFarm"/>: a network namespace with one address on the farm's network.</summary>
/// <param name="Namespace">The network namespace's name (<c>ip netns exec NAME ...</c>).</param>
/// <param name="Address">The host's IPv4 address on the farm's network (10.77.0.1 for the server, 10.77.0.2 onwards for clients).</param>
/// <param name="Index">0 for the server host, 1 to N for the client hosts.</param>
[Experimental(NetworkLabDiagnostics.ExperimentalId, UrlFormat = NetworkLabDiagnostics.ExperimentalUrl)]
public sealed record WebFarmHost(string Namespace, IPAddress Address, int Index)
{
    /// <summary>Gets a value indicating whether this is the farm's server host.</summary>
    public bool IsServer => Index == 0;
}

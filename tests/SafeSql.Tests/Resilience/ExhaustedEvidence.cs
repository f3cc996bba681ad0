using System.Net;
using System.Net.Sockets;

using SafeSql.Diagnostics;

namespace SafeSql.Tests.Resilience;

/// <summary>
/// Operating-system evidence of a full ephemeral range (50 of 50 ports in TIME_WAIT towards the server) and a diagnostic connect
/// failing with AddressNotAvailable, for retry tests that cannot exhaust ports in-process. The SqlClient exception stays real.
/// </summary>
internal sealed class ExhaustedEvidence(IPEndPoint endPoint) : ITcpEvidenceSource
{
    private readonly SafeSqlTcpSnapshot _snapshot = new(endPoint, 40000, 40049, 50, false, 50, 50, 50, 50, TimeSpan.FromSeconds(60), 4096, 0, true, "/proc/net/tcp");

    public SafeSqlTcpSnapshot Capture(IPEndPoint? endPoint) => _snapshot;

    public SocketError Connect(IPEndPoint endPoint) => SocketError.AddressNotAvailable;

    public Task<SocketError> ConnectAsync(IPEndPoint endPoint) => Task.FromResult(SocketError.AddressNotAvailable);

    public bool AcceptedWithin(IPEndPoint endPoint, TimeSpan window) => false;
}

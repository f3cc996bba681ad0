using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;

using SafeSql.Diagnostics;

namespace SafeSql.Tool.Doctor;

internal sealed partial class DoctorRunner
{
    /// <summary>
    /// The server's side of the connection, when the server runs on this machine (a loopback or local address) or when
    /// --server-side says the doctor runs on the server: somaxconn, the listening socket's queue and backlog, and the
    /// kernel's listen overflow counters.
    /// </summary>
    private void CheckServerSide()
    {
        if (_endPoint is null)
        {
            return;
        }

        if (!_serverSide && !IsLocal(_endPoint.Address))
        {
            Add("server", "server-side", DoctorStatus.Ok, $"{_endPoint.Address} is not an address of this machine: the server's listen queue was not checked.", "A full listen queue on the server refuses or drops connects while the server accepts others.", "Run safesql doctor --server-side on the server to check it.");
            return;
        }

        if (!OperatingSystem.IsLinux())
        {
            Add("server", "server-side", DoctorStatus.Ok, "The listen queue figures are read from Linux's /proc and ss; this system is not Linux.", "A full listen queue refuses or drops connects while the server accepts others.", null);
            return;
        }

        var somaxconn = SafeSqlTcpProbe.Capture().ListenBacklogLimit;
        Add(
            "server",
            "somaxconn",
            somaxconn is < 1024 ? DoctorStatus.Warning : DoctorStatus.Ok,
            somaxconn is { } limit ? $"net.core.somaxconn={limit}: the largest accept queue a listening socket can have." : "net.core.somaxconn is not readable.",
            "listen(2): a backlog above somaxconn is silently truncated to it; a burst of connects larger than the queue overflows it (Linux's default is 4096 since 5.4, 128 before).",
            somaxconn is < 1024 ? "Raise net.core.somaxconn (sysctl -w net.core.somaxconn=4096) and the server's backlog." : null,
            new() { ["somaxconn"] = somaxconn });

        var sockets = ListenSockets.Find(_endPoint.Port);
        if (sockets.Count == 0)
        {
            Add("server", "listen-queue", DoctorStatus.Warning, $"No socket listens on port {_endPoint.Port} in this network namespace (the server runs in another one, a container?).", "The listen queue can only be read where the server runs.", "Run safesql doctor --server-side inside the server's container or namespace.");
        }
        else
        {
            var fullest = sockets.MaxBy(s => s.Backlog is { } b && b > 0 ? (double)s.Queue / b : s.Queue)!;
            var status = fullest.Backlog is { } backlog && fullest.Queue >= backlog ? DoctorStatus.Problem
                : fullest.Backlog is { } half && fullest.Queue * 2 >= half && fullest.Queue > 0 ? DoctorStatus.Warning
                : DoctorStatus.Ok;
            var backlogText = fullest.Backlog is { } most ? $"of a backlog of {most}" : "(the backlog limit needs ss, iproute2)";
            Add(
                "server",
                "listen-queue",
                status,
                $"{fullest.LocalAddress}: {fullest.Queue} connections wait to be accepted, {backlogText} (source: {fullest.Source}).",
                "When the accept queue is full Linux drops the client's ACK and the client's connect times out or is reset, while the server keeps serving others (ListenOverflows).",
                status == DoctorStatus.Ok ? null : "Accept faster (the server is starved of threads?) or raise the listen backlog and somaxconn.",
                new() { ["localAddress"] = fullest.LocalAddress, ["queue"] = fullest.Queue, ["backlog"] = fullest.Backlog, ["source"] = fullest.Source });
        }

        var (overflows, drops) = ListenSockets.ReadCounters();
        Add(
            "server",
            "listen-overflows",
            DoctorStatus.Ok,
            overflows is null ? "ListenOverflows/ListenDrops are not readable (/proc/net/netstat)." : string.Create(CultureInfo.InvariantCulture, $"Since boot, in this network namespace: ListenOverflows={overflows}, ListenDrops={drops} (every listening socket, not only this server's)."),
            "Each overflow is a connect that found a full accept queue; compare two runs under load: a growing count is a server that accepts too slowly for its clients.",
            null,
            new() { ["listenOverflows"] = overflows, ["listenDrops"] = drops });
    }

    private static bool IsLocal(IPAddress address)
    {
        if (IPAddress.IsLoopback(address))
        {
            return true;
        }

        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(i => i.GetIPProperties().UnicastAddresses)
                .Any(u => u.Address.Equals(address));
        }
        catch (NetworkInformationException)
        {
            return false;
        }
    }
}

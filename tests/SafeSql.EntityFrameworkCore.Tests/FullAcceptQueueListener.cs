using System.Net;
using System.Net.Sockets;

namespace SafeSql.EntityFrameworkCore.Tests;

/// <summary>
/// A real TCP listener on loopback whose accept queue is full and never drained: Linux then drops every further SYN (with
/// the default <c>net.ipv4.tcp_abort_on_overflow=0</c>), so a client's connect gets no answer until its own timeout, as
/// towards a host that is down, behind a firewall that drops, or whose listen backlog overflowed.
/// </summary>
internal sealed class FullAcceptQueueListener : IDisposable
{
    private readonly Socket _listener;
    private readonly List<Socket> _queued = [];

    private FullAcceptQueueListener(Socket listener)
    {
        _listener = listener;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
    }

    /// <summary>The listener's endpoint on 127.0.0.1.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The <c>Data Source</c> that points SqlClient at the listener.</summary>
    public string DataSource => $"tcp:127.0.0.1,{EndPoint.Port}";

    /// <summary>Connections that completed the handshake and wait in the accept queue (never accepted).</summary>
    public int QueuedConnections => _queued.Count;

    /// <summary>Listens with a backlog of 0 (the kernel queues one connection) and fills the queue with raw connects.</summary>
    public static async Task<FullAcceptQueueListener> StartAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(0);
        var listener = new FullAcceptQueueListener(socket);
        try
        {
            // Connect until one connect gets no answer: from then on the queue is full and SYNs are dropped. Bounded: at most
            // 8 connects of at most 500 ms each.
            for (var i = 0; i < 8; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                try
                {
                    await client.ConnectAsync(listener.EndPoint, timeout.Token);
                    listener._queued.Add(client);
                }
                catch (OperationCanceledException)
                {
                    client.Dispose();
                    return listener;
                }
            }

            throw new InvalidOperationException("The accept queue did not fill after 8 connects: the kernel does not drop SYNs here.");
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var client in _queued)
        {
            client.Dispose();
        }

        _listener.Dispose();
    }
}

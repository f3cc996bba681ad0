using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using SafeSql.Testing.Tds;

namespace SafeSql.Testing;

/// <summary>
/// One client connection: PRELOGIN (and TLS as negotiated there, or TLS first for TDS 8.0), LOGIN7, then requests until the
/// client or the server closes it. A single reader loop keeps reading the connection while a request runs (so an attention can
/// cancel a running <c>WAITFOR</c>); a request that completes synchronously costs no extra task.
/// </summary>
/// <remarks>
/// By concern: this file holds the socket's lifecycle and the session's state; PRELOGIN, TLS and LOGIN7 are in
/// <c>LoopbackSession.Handshake.cs</c>, access tokens (federated authentication) in
/// <c>LoopbackSession.FederatedAuthentication.cs</c>, the reader loop and attentions in <c>LoopbackSession.RequestLoop.cs</c>, the
/// translation of a request into statements in <c>LoopbackSession.Requests.cs</c>, and their execution, transactions
/// and the reply in <c>LoopbackSession.Execute.cs</c>.
/// </remarks>
internal sealed partial class LoopbackSession : IDisposable
{
    /// <summary>The version reported in PRELOGIN, LOGINACK (<c>SqlConnection.ServerVersion</c> "16.00.1000") and @@VERSION: SQL
    /// Server 2022 RTM, the first version that speaks TDS 8.0.</summary>
    private static readonly Version s_serverVersion = new(16, 0, 1000);

    private static readonly string s_versionText = string.Create(
        CultureInfo.InvariantCulture,
        $"Microsoft SQL Server 2022 (RTM) - {s_serverVersion.Major}.{s_serverVersion.Minor}.{s_serverVersion.Build}.6 (X64) \n\tSafeSql.Testing loopback TDS server (not a real SQL Server)\n");

    private readonly LoopbackSqlServer _server;
    private readonly Socket _socket;
    private readonly NetworkStream _network;
    private readonly CancellationTokenSource _sessionCts = new();
    private CancellationTokenSource _requestCts = new();
    private string _loginDatabase = "master";
    private string _database = "master";
    private int _closed;
    private int _transactionCount;
    private long _transactionId;
    private long _rolledBackByReset;

    /// <summary>The request being executed is answered with a reset (<see cref="LoopbackSqlServerFaults.ResetAfterExecuting"/>,
    /// <see cref="LoopbackSqlServerFaults.ResetAfterCommit"/>).</summary>
    private bool _resetInsteadOfReply;
    private SslStream? _tls;

    /// <summary>The stream TDS packets travel on: the socket's, or the TLS stream while TLS is on.</summary>
    private Stream _transport;

    public LoopbackSession(LoopbackSqlServer server, Socket socket, int sessionId)
    {
        _server = server;
        _socket = socket;
        _network = new NetworkStream(socket, ownsSocket: false);
        _transport = _network;
        SessionId = sessionId;
    }

    public int SessionId { get; }

    /// <summary>Gets or sets the task running this session (set by the server right after it started).</summary>
    public Task Completion { get; set; } = Task.CompletedTask;

    private LoopbackSqlServerCounters Counters => _server.Counters;

    private LoopbackSqlServerFaults Faults => _server.Faults;

    /// <summary>Resets a socket: SO_LINGER 0 then close sends RST instead of FIN.</summary>
    public static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        socket.Dispose();
    }

    /// <summary>Closes the connection gracefully (FIN) and ends the session.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            _sessionCts.Cancel();
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
    }

    /// <summary>Aborts the connection (RST) and ends the session.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            _sessionCts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        Reset(_socket);
    }

    public async Task RunAsync()
    {
        await Task.Yield();
        var token = _sessionCts.Token;
        using var reader = new TdsReader(_network, Counters.OnReceived);
        using var writer = new TdsWriter(TdsConstants.DefaultPacketSize) { SessionId = (ushort)SessionId };
        try
        {
            if (await HandshakeAsync(reader, writer, token).ConfigureAwait(false))
            {
                await RequestLoopAsync(reader, writer, token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or InvalidDataException or ObjectDisposedException or OperationCanceledException or AuthenticationException)
        {
            // The client went away, the server closed the connection, the client sent something malformed, or the client
            // rejected the certificate (it aborts the TLS handshake).
        }
        finally
        {
            if (_transactionCount > 0)
            {
                // SQL Server rolls back the open transaction of a session that ends, whether the client closed it or it died.
                RollBack();
            }

            Close();
            _tls?.Dispose();
            _network.Dispose();
            Dispose();
        }
    }

    /// <summary>Releases the cancellation sources; called once the session task ends.</summary>
    public void Dispose()
    {
        _requestCts.Dispose();
        _sessionCts.Dispose();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendAsync(TdsWriter writer, bool endOfMessage, CancellationToken token)
    {
        await writer.SendAsync(_transport, endOfMessage, Counters, token).ConfigureAwait(false);
    }
}

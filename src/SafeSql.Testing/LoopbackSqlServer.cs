using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using SafeSql.Testing.Tls;

namespace SafeSql.Testing;

/// <summary>
/// A SQL Server look-alike on 127.0.0.1 that the real Microsoft.Data.SqlClient (and FreeTDS) talks to over real TCP: it speaks
/// TDS 7.4 with TLS as SQL Server 2022 negotiates it (TLS 1.2 inside PRELOGIN for <c>Encrypt=Mandatory</c>/<c>Optional</c>,
/// TDS 8.0 with TLS first for <c>Encrypt=Strict</c>, a self-signed certificate generated per server), checks credentials,
/// answers a small T-SQL subset and RPCs (<c>sp_executesql</c>), honours attention (cancel / command timeout) and the pool's
/// RESETCONNECTION bit, counts what it sees and injects faults on demand.
/// </summary>
/// <example>
/// <code>
/// await using var server = await LoopbackSqlServer.StartAsync();
/// await using var connection = new SqlConnection(server.ConnectionString);
/// await connection.OpenAsync();
/// var one = await new SqlCommand("SELECT 1", connection).ExecuteScalarAsync(); // 1
/// </code>
/// </example>
/// <remarks>One task per connection; sockets are closed and every task has ended when <see cref="DisposeAsync"/> returns.
/// Protocol sources: MS-TDS and the Microsoft.Data.SqlClient source (see docs/loopback-server.md).</remarks>
public sealed class LoopbackSqlServer : IAsyncDisposable
{
    private readonly LoopbackSqlServerOptions _options;
    private readonly ConcurrentDictionary<int, LoopbackSession> _sessions = new();
    private readonly ConcurrentQueue<LoopbackLogin> _logins = new();
    private readonly CancellationTokenSource _disposed = new();
    private readonly ServerCertificates? _certificates;
    private readonly Lock _listenerLock = new();
    private Socket? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private CancellationTokenSource? _acceptStop;
    private int _nextSessionId;
    private long _nextTransactionId = 0x0000_0001_0000_0000;
    private int _runningSessions;
    private bool _refusing;
    private bool _stopped;
    private Exception? _lastSessionFault;

    private LoopbackSqlServer(LoopbackSqlServerOptions options, ServerCertificates? certificates)
    {
        _options = options;
        _certificates = certificates;
        _nextSessionId = options.FirstSessionId - 1;
        Faults = new LoopbackSqlServerFaults(this);
        Counters = new LoopbackSqlServerCounters();
    }

    /// <summary>Gets the TCP port the server listens on (the same after <see cref="StopAsync"/> and <see cref="RestartAsync"/>).</summary>
    public int Port { get; private set; }

    /// <summary>Gets the endpoint clients connect to: <see cref="LoopbackSqlServerOptions.ListenAddress"/> (127.0.0.1 by default,
    /// and when it is <see cref="IPAddress.Any"/>) and <see cref="Port"/>.</summary>
    public IPEndPoint EndPoint => new(ConnectAddress, Port);

    /// <summary>Gets a connection string for Microsoft.Data.SqlClient that works with its defaults (no <c>Encrypt</c> keyword,
    /// i.e. <c>Encrypt=Mandatory</c>): <c>Data Source=tcp:127.0.0.1,PORT;User ID=sa;Password=...;Server Certificate=PATH;Connect
    /// Retry Count=0</c>, where PATH is <see cref="CertificatePath"/>. The connection is TLS 1.2 and the client authenticates
    /// the server by pinning its certificate (SqlClient accepts a certificate that matches the file byte for byte, self-signed
    /// included, from 6.0.1; older versions reject the keyword or the certificate), not by <c>TrustServerCertificate=True</c>,
    /// which turns server authentication off. Add <c>Encrypt=Strict</c> for TDS 8.0 with the same pin. Pooling is on (the
    /// SqlClient default). <c>Connect Retry Count=0</c> keeps SqlClient from silently retrying a failed login after 10 s. Add
    /// keywords with <c>SqlConnectionStringBuilder</c>.</summary>
    /// <remarks>With <see cref="LoopbackEncryption.NotSupported"/> the string carries <c>Encrypt=False</c> instead of the
    /// certificate. After <see cref="LoopbackSqlServerFaults.RotateCertificate"/> it pins the new certificate (a string read
    /// before pins the old one, as an application that was not redeployed does). It contains the configured password (a fixed
    /// development credential by default, <see cref="LoopbackSqlServerOptions.DefaultPassword"/>); when
    /// <see cref="LoopbackSqlServerOptions.Password"/> is <see langword="null"/> any password is accepted and the string carries
    /// <c>x</c>.</remarks>
    public string ConnectionString
    {
        get
        {
            var credentials = $"User ID={Quote(_options.UserName ?? LoopbackSqlServerOptions.DefaultUserName)};Password={Quote(_options.Password ?? "x")}";
            var encryption = _certificates is null ? "Encrypt=False" : "Server Certificate=" + Quote(_certificates.CurrentPath);
            return string.Create(CultureInfo.InvariantCulture, $"Data Source=tcp:{ConnectAddress},{Port};{credentials};{encryption};Connect Retry Count=0");
        }
    }

    /// <summary>Gets the certificate the server presents in TLS handshakes (with its private key), or <see langword="null"/>
    /// when <see cref="LoopbackSqlServerOptions.Encryption"/> is <see cref="LoopbackEncryption.NotSupported"/>. It is
    /// <see cref="LoopbackSqlServerOptions.Certificate"/> when one was supplied, else a self-signed certificate generated for
    /// this server; <see cref="LoopbackSqlServerFaults.RotateCertificate"/> replaces it.</summary>
    /// <remarks>The server owns a certificate it generated; do not dispose it while the server runs.</remarks>
    public X509Certificate2? Certificate => _certificates?.Current;

    /// <summary>Gets the path of a DER-encoded <c>.cer</c> file holding the public part of <see cref="Certificate"/>, for
    /// SqlClient's <c>Server Certificate</c> keyword (6.0.1+), FreeTDS's <c>ca file</c> (after conversion to PEM) or an
    /// operating-system trust store; <see langword="null"/> without encryption.</summary>
    /// <remarks>The file lives in a temporary folder of this server, deleted by <see cref="DisposeAsync"/>. Each
    /// <see cref="LoopbackSqlServerFaults.RotateCertificate"/> writes a new file and keeps the old one until then.</remarks>
    public string? CertificatePath => _certificates?.CurrentPath;

    /// <summary>Gets the counters of connections, logins, requests and bytes.</summary>
    public LoopbackSqlServerCounters Counters { get; }

    /// <summary>Gets the faults to inject; they can be switched at any time.</summary>
    public LoopbackSqlServerFaults Faults { get; }

    /// <summary>Gets the most recent LOGIN7 requests (successful and failed), oldest first; at most
    /// <see cref="LoopbackSqlServerOptions.MaxRecordedLogins"/>.</summary>
    public IReadOnlyList<LoopbackLogin> Logins => [.. _logins];

    /// <summary>Gets or sets a hook that answers batches and RPCs before the built-in SQL subset: return a
    /// <see cref="LoopbackResponse"/> to answer, or <see langword="null"/> to let the built-in subset answer. Called on the
    /// connection's task, one request at a time per connection but concurrently across connections; it must be thread-safe and
    /// fast. An exception it throws becomes error 50000, class 16, with the exception's message.</summary>
    /// <value>The default value is <see langword="null"/> (only the built-in subset answers).</value>
    public Func<LoopbackRequest, LoopbackResponse?>? BatchHandler { get; set; }

    /// <summary>Gets the number of connection tasks still running (0 once <see cref="StopAsync"/> or <see cref="DisposeAsync"/> returned).</summary>
    internal int RunningSessionCount => Volatile.Read(ref _runningSessions);

    /// <summary>Gets the last unexpected exception that ended a connection task (a server bug), for tests and debugging.</summary>
    internal Exception? LastSessionFault => Volatile.Read(ref _lastSessionFault);

    /// <summary>Gets whether the accept loop is running.</summary>
    internal bool IsAcceptLoopRunning => !_acceptLoop.IsCompleted;

    internal LoopbackSqlServerOptions Options => _options;

    private IPAddress ConnectAddress => _options.ListenAddress.Equals(IPAddress.Any) ? IPAddress.Loopback : _options.ListenAddress;

    internal ServerCertificates? Certificates => _certificates;

    internal bool IsRefusing
    {
        get
        {
            lock (_listenerLock)
            {
                return _refusing;
            }
        }
    }

    internal CancellationToken DisposedToken => _disposed.Token;

    /// <summary>Starts a server listening on 127.0.0.1.</summary>
    /// <param name="options">The options; <see langword="null"/> uses the defaults (any free port, user <c>sa</c>, password
    /// <see cref="LoopbackSqlServerOptions.DefaultPassword"/>).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server; dispose it to stop it.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="LoopbackSqlServerOptions.Port"/> is outside 0..65535,
    /// <see cref="LoopbackSqlServerOptions.ListenBacklog"/> is less than 1, <see cref="LoopbackSqlServerOptions.FirstSessionId"/>
    /// is outside 1..32767, or <see cref="LoopbackSqlServerOptions.Encryption"/> is not a defined value.</exception>
    /// <exception cref="ArgumentException"><see cref="LoopbackSqlServerOptions.Certificate"/> has no private key, or
    /// <see cref="LoopbackSqlServerOptions.ListenAddress"/> is not an IPv4 address.</exception>
    /// <exception cref="ArgumentNullException"><see cref="LoopbackSqlServerOptions.ListenAddress"/> is <see langword="null"/>.</exception>
    /// <exception cref="SocketException">The port is in use (<see cref="SocketError.AddressAlreadyInUse"/>).</exception>
    public static Task<LoopbackSqlServer> StartAsync(LoopbackSqlServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LoopbackSqlServerOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Port, IPEndPoint.MaxPort);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ListenBacklog, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.FirstSessionId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.FirstSessionId, short.MaxValue);
        ArgumentNullException.ThrowIfNull(options.ServerName);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentNullException.ThrowIfNull(options.ListenAddress);
        if (options.ListenAddress.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("LoopbackSqlServerOptions.ListenAddress must be an IPv4 address.", "options.ListenAddress");
        }

        if (!Enum.IsDefined(options.Encryption))
        {
            throw new ArgumentOutOfRangeException("options.Encryption", options.Encryption, "LoopbackSqlServerOptions.Encryption is not a defined LoopbackEncryption value.");
        }

        var encrypted = options.Encryption != LoopbackEncryption.NotSupported;
        if (encrypted)
        {
            ServerCertificates.Validate(options.Certificate, "options.Certificate");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var certificates = encrypted ? new ServerCertificates(options.Certificate) : null;
        var server = new LoopbackSqlServer(options, certificates);
        server.Port = options.Port;
        try
        {
            lock (server._listenerLock)
            {
                server.Listen();
            }
        }
        catch
        {
            certificates?.Dispose();
            throw;
        }

        return Task.FromResult(server);
    }

    /// <summary>Stops the server without disposing it: closes the listening socket (new connects are refused) and every open
    /// connection, and waits until every connection task ended. The port is kept for <see cref="RestartAsync"/>.</summary>
    /// <returns>A task that completes when everything is closed.</returns>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    public async Task StopAsync()
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        Task acceptLoop;
        lock (_listenerLock)
        {
            _stopped = true;
            acceptLoop = CloseListener();
        }

        await acceptLoop.ConfigureAwait(false);
        await WaitForSessionsAsync().ConfigureAwait(false);
    }

    /// <summary>Listens again on the same port after <see cref="StopAsync"/> (a restarted SQL Server). Clears
    /// <see cref="LoopbackSqlServerFaults.RefuseConnections"/>. Does nothing if the server is running.</summary>
    /// <returns>A completed task.</returns>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    /// <exception cref="SocketException">Another socket took the port meanwhile.</exception>
    public Task RestartAsync()
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        lock (_listenerLock)
        {
            _stopped = false;
            _refusing = false;
            if (_listener is null)
            {
                Listen();
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Stops the server: closes the listening socket and every connection and waits for every connection task to end.
    /// Safe to call more than once.</summary>
    /// <returns>A task that completes when nothing of the server is left running.</returns>
    public async ValueTask DisposeAsync()
    {
        Task acceptLoop;
        lock (_listenerLock)
        {
            if (_disposed.IsCancellationRequested)
            {
                acceptLoop = _acceptLoop;
            }
            else
            {
                _disposed.Cancel();
                _stopped = true;
                acceptLoop = CloseListener();
            }
        }

        await acceptLoop.ConfigureAwait(false);
        await WaitForSessionsAsync().ConfigureAwait(false);
        _certificates?.Dispose();
    }

    /// <summary>Returns the endpoint and counters.</summary>
    /// <returns>For example <c>LoopbackSqlServer 127.0.0.1:41234 (3 open connections)</c>.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"LoopbackSqlServer {ConnectAddress}:{Port} ({Counters.OpenConnections} open connections)");

    internal void SetRefusing(bool refuse)
    {
        lock (_listenerLock)
        {
            ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
            _refusing = refuse;
            if (refuse)
            {
                // The accept loop ends on its own once its socket is closed; StopAsync and DisposeAsync await the latest one.
                _ = CloseListener();
            }
            else if (!_stopped && _listener is null)
            {
                Listen();
            }
        }
    }

    internal X509Certificate2 RotateCertificate(X509Certificate2? certificate)
    {
        if (_certificates is null)
        {
            throw new InvalidOperationException("This server does not support encryption (LoopbackSqlServerOptions.Encryption is NotSupported), so it has no certificate to rotate. Start it with LoopbackEncryption.Supported or Required.");
        }

        ServerCertificates.Validate(certificate, nameof(certificate));
        return _certificates.Rotate(certificate);
    }

    internal long NextTransactionId() => Interlocked.Increment(ref _nextTransactionId);

    internal int ExpireSessionTokens()
    {
        var expired = 0;
        foreach (var session in _sessions.Values)
        {
            if (session.ExpireAccessToken())
            {
                expired++;
            }
        }

        return expired;
    }

    internal int AbortAllSessions()
    {
        var n = 0;
        foreach (var session in _sessions.Values)
        {
            session.Abort();
            n++;
        }

        return n;
    }

    internal void RecordLogin(LoopbackLogin login)
    {
        _logins.Enqueue(login);
        while (_logins.Count > Math.Max(1, _options.MaxRecordedLogins) && _logins.TryDequeue(out _))
        {
        }
    }

    private static string Quote(string value) =>
        value.AsSpan().IndexOfAny(";='\"") >= 0 || value != value.Trim() ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    /// <summary>Opens the listening socket on <see cref="Port"/>; caller holds <see cref="_listenerLock"/>.</summary>
    private void Listen()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            AllowRebindDuringTimeWait(listener);
            listener.Bind(new IPEndPoint(_options.ListenAddress, Port));
            listener.Listen(_options.ListenBacklog);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        _listener = listener;
        _acceptStop = new CancellationTokenSource();
        _acceptLoop = AcceptLoopAsync(listener, _acceptStop.Token);
    }

    /// <summary>
    /// Sets SO_REUSEADDR alone, so a restart can bind the port while connections of the previous run sit in TIME_WAIT.
    /// .NET's <see cref="SocketOptionName.ReuseAddress"/> also sets SO_REUSEPORT on Unix, which would let a second server
    /// share the port silently; Windows needs neither (TIME_WAIT does not block a listener there).
    /// </summary>
    private static void AllowRebindDuringTimeWait(Socket socket)
    {
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(1, 2, BitConverter.GetBytes(1)); // SOL_SOCKET, SO_REUSEADDR
        }
        else if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
        {
            socket.SetRawSocketOption(0xFFFF, 4, BitConverter.GetBytes(1)); // SOL_SOCKET, SO_REUSEADDR
        }
    }

    /// <summary>Closes the listening socket; caller holds <see cref="_listenerLock"/>. Returns the accept loop to await.</summary>
    private Task CloseListener()
    {
        var listener = _listener;
        _listener = null;
        _acceptStop?.Cancel();
        listener?.Dispose();
        return _acceptLoop;
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var acceptDelay = Faults.AcceptDelay;
                if (acceptDelay > TimeSpan.Zero)
                {
                    await Task.Delay(acceptDelay, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                }

                var socket = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                Counters.OnAccepted();
                if (Faults.ResetOnAccept)
                {
                    LoopbackSession.Reset(socket);
                    Counters.OnClosed();
                    continue;
                }

                StartSession(socket);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
            // The listening socket was closed (refuse, stop, dispose).
        }
    }

    private void StartSession(Socket socket)
    {
        var id = Interlocked.Increment(ref _nextSessionId);
        if (id > short.MaxValue)
        {
            Interlocked.Exchange(ref _nextSessionId, _options.FirstSessionId);
            id = _options.FirstSessionId;
        }

        var session = new LoopbackSession(this, socket, id);
        while (!_sessions.TryAdd(id, session))
        {
            id = Interlocked.Increment(ref _nextSessionId);
            session = new LoopbackSession(this, socket, id);
        }

        Interlocked.Increment(ref _runningSessions);
        session.Completion = RunSessionAsync(session);
    }

    private async Task RunSessionAsync(LoopbackSession session)
    {
        try
        {
            await session.RunAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A bug in one session must not fault StopAsync/DisposeAsync; the connection is closed either way.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Volatile.Write(ref _lastSessionFault, ex);
        }
        finally
        {
            _sessions.TryRemove(session.SessionId, out _);
            Counters.OnClosed();
            Interlocked.Decrement(ref _runningSessions);
        }
    }

    /// <summary>Waits for every connection task; called after the accept loop ended, so no new session can appear.</summary>
    private async Task WaitForSessionsAsync()
    {
        while (!_sessions.IsEmpty)
        {
            var tasks = new List<Task>(_sessions.Count);
            foreach (var session in _sessions.Values)
            {
                session.Close();
                tasks.Add(session.Completion);
            }

            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SafeSql.Testing.Tds;
using SafeSql.Testing.Tls;

namespace SafeSql.Testing;

/// <summary>
/// One client connection: PRELOGIN (and TLS as negotiated there, or TLS first for TDS 8.0), LOGIN7, then requests until the
/// client or the server closes it. A single reader loop keeps reading the connection while a request runs (so an attention can
/// cancel a running <c>WAITFOR</c>); a request that completes synchronously costs no extra task.
/// </summary>
internal sealed class LoopbackSession : IDisposable
{
    private const string ProgramName = "Microsoft SQL Server";

    /// <summary>The first byte of a TLS record carrying a handshake message (RFC 5246 6.2.1, content type 22): a TDS 8.0 client's
    /// ClientHello. A TDS 7.x client starts with a PRELOGIN packet (0x12).</summary>
    private const byte TlsHandshakeRecord = 0x16;

    /// <summary>The version reported in PRELOGIN, LOGINACK (<c>SqlConnection.ServerVersion</c> "16.00.1000") and @@VERSION: SQL
    /// Server 2022 RTM, the first version that speaks TDS 8.0.</summary>
    private static readonly Version s_serverVersion = new(16, 0, 1000);

    private static readonly string s_versionText = string.Create(
        CultureInfo.InvariantCulture,
        $"Microsoft SQL Server 2022 (RTM) - {s_serverVersion.Major}.{s_serverVersion.Minor}.{s_serverVersion.Build}.6 (X64) \n\tSafeSql.Testing loopback TDS server (not a real SQL Server)\n");

    /// <summary>The ALPN protocol of TDS 8.0, which SqlClient's TLS-first client offers (ManagedSni SniPhysicalHandle).</summary>
    private static readonly List<SslApplicationProtocol> s_tds8Protocols = [new SslApplicationProtocol("tds/8.0")];

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

    /// <summary>Rows written inside the open transaction: applied at its COMMIT, dropped when it rolls back.</summary>
    private long _pendingRows;

    /// <summary>The request being executed is answered with a reset (<see cref="LoopbackSqlServerFaults.ResetAfterExecuting"/>,
    /// <see cref="LoopbackSqlServerFaults.ResetAfterCommit"/>).</summary>
    private bool _resetInsteadOfReply;
    private byte[]? _cachedBatch;
    private string? _cachedDatabase;
    private List<TdsStatement>? _cachedStatements;
    private SslStream? _tls;
    private LoopbackConnectionEncryption _encryption;

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

    private async Task<bool> HandshakeAsync(TdsReader reader, TdsWriter writer, CancellationToken token)
    {
        var first = await PeekFirstByteAsync(token).ConfigureAwait(false);
        if (first < 0)
        {
            return false;
        }

        if (Faults.IgnorePrelogin)
        {
            // A hung server: keep the connection, answer nothing, until the client gives up and closes it.
            await DrainAsync(token).ConfigureAwait(false);
            return false;
        }

        var certificates = _server.Certificates;
        if (first == TlsHandshakeRecord)
        {
            if (certificates is null || !_server.Options.SupportsTds8)
            {
                // A TDS 7.x server reads the ClientHello as a packet of an unknown type and closes the transport, as MS-TDS
                // says a server does when the first packet is not a structurally correct PRELOGIN.
                await _network.ReadAsync(new byte[TdsConstants.DefaultPacketSize], token).ConfigureAwait(false);
                Close();
                return false;
            }

            if (!await StartTlsAsync(reader, certificates, tds8: true, token).ConfigureAwait(false))
            {
                return false;
            }
        }

        var message = await reader.ReadMessageAsync(token).ConfigureAwait(false);
        if (message is null)
        {
            return false;
        }

        if (message.Value.Type == TdsConstants.PacketPreLogin)
        {
            var (answer, outcome) = PreLogin.Negotiate(PreLogin.ReadClientEncryption(message.Value.Payload.Span), _server.Options.Encryption);
            PreLogin.WriteReply(writer, s_serverVersion, answer);
            await SendAsync(writer, endOfMessage: true, token).ConfigureAwait(false);

            // Under TDS 8.0 TLS is already on and the client ignores the answer (SqlClient sends ENCRYPT_NOT_SUP inside TLS).
            if (_encryption != LoopbackConnectionEncryption.Tds8 && outcome != LoopbackConnectionEncryption.None)
            {
                if (!await StartTlsAsync(reader, certificates!, tds8: false, token).ConfigureAwait(false))
                {
                    return false;
                }

                _encryption = outcome;
            }

            message = await reader.ReadMessageAsync(token).ConfigureAwait(false);
            if (message is null)
            {
                return false;
            }
        }

        if (message.Value.Type != TdsConstants.PacketLogin7 ||
            (_encryption == LoopbackConnectionEncryption.None && _server.Options.Encryption == LoopbackEncryption.Required))
        {
            // Not a login, or a login in clear to a server that requires encryption (a client that ignored ENCRYPT_REQ).
            return false;
        }

        if (Faults.ResetDuringLogin)
        {
            Abort();
            return false;
        }

        var login = Login7Parser.Parse(message.Value.Payload.Span);
        if (_encryption == LoopbackConnectionEncryption.LoginOnly)
        {
            // Both sides said ENCRYPT_OFF: TLS protected LOGIN7 only; the reply and everything after it travel in clear
            // (SqlClient TdsParser.RemoveEncryption, FreeTDS encrypt_single_packet).
            Debug.Assert(!reader.HasBufferedBytes, "The client sends nothing after LOGIN7 before the login reply.");
            reader.Stream = _network;
            _transport = _network;
        }

        var delay = Faults.LoginDelay;
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _server.Options.TimeProvider, token).ConfigureAwait(false);
        }

        var failure = CheckLogin(login);
        _server.RecordLogin(new LoopbackLogin(SessionId, login.UserName, login.Password, login.Database, login.ApplicationName, login.HostName, login.PacketSize, failure is null, _encryption));
        if (failure is not null)
        {
            Counters.OnFailedLogin();
            WriteError(writer, failure);
            TdsTokens.WriteDone(writer, TdsConstants.TokenDone, TdsConstants.DoneError, 0, 0);
            await SendAsync(writer, endOfMessage: true, token).ConfigureAwait(false);
            Close();
            return false;
        }

        _loginDatabase = _database = login.Database.Length > 0 ? login.Database : "master";
        var packetSize = login.PacketSize == 0 ? TdsConstants.DefaultPacketSize : Math.Clamp(login.PacketSize, TdsConstants.MinPacketSize, TdsConstants.MaxPacketSize);
        var serverName = _server.Options.ServerName;
        TdsTokens.WriteEnvChange(writer, TdsConstants.EnvDatabase, _database, "master");
        TdsTokens.WriteMessage(writer, isError: false, 5701, 2, 0, $"Changed database context to '{_database}'.", serverName, string.Empty, 1);
        TdsTokens.WriteCollationEnvChange(writer);
        TdsTokens.WriteEnvChange(writer, TdsConstants.EnvLanguage, "us_english", string.Empty);
        TdsTokens.WriteMessage(writer, isError: false, 5703, 1, 0, "Changed language setting to us_english.", serverName, string.Empty, 1);
        TdsTokens.WriteEnvChange(writer, TdsConstants.EnvPacketSize, packetSize.ToString(CultureInfo.InvariantCulture), TdsConstants.DefaultPacketSize.ToString(CultureInfo.InvariantCulture));
        TdsTokens.WriteLoginAck(writer, ProgramName, s_serverVersion);
        TdsTokens.WriteDone(writer, TdsConstants.TokenDone, TdsConstants.DoneFinal, 0, 0);

        // Counted before the reply leaves, so a test that reads Counters.Logins right after Open returns sees this login.
        Counters.OnLogin();
        await SendAsync(writer, endOfMessage: true, token).ConfigureAwait(false);
        writer.PacketSize = packetSize;
        return true;
    }

    private TdsStatement? CheckLogin(Login7Data login)
    {
        var options = _server.Options;
        var forced = Faults.FailLoginsWithError;
        if (forced is not null)
        {
            return LoginErrors.Create(forced.Value, login, options.ServerName);
        }

        var userOk = options.UserName is null || string.Equals(options.UserName, login.UserName, StringComparison.OrdinalIgnoreCase);
        var passwordOk = options.Password is null || string.Equals(options.Password, login.Password, StringComparison.Ordinal);
        return userOk && passwordOk && !login.IntegratedSecurity ? null : LoginErrors.Create(18456, login, options.ServerName);
    }

    private async Task RequestLoopAsync(TdsReader reader, TdsWriter writer, CancellationToken token)
    {
        var pending = Task.CompletedTask;
        try
        {
            while (true)
            {
                var read = await reader.ReadMessageAsync(token).ConfigureAwait(false);
                if (read is null)
                {
                    return;
                }

                var message = read.Value;
                if (message.Type == TdsConstants.PacketAttention)
                {
                    Counters.OnAttention();
                    await _requestCts.CancelAsync().ConfigureAwait(false);
                    await pending.ConfigureAwait(false);
                    pending = Task.CompletedTask;
                    TdsTokens.WriteDone(writer, TdsConstants.TokenDone, TdsConstants.DoneAttention, 0, 0);
                    await SendAsync(writer, endOfMessage: true, token).ConfigureAwait(false);
                    continue;
                }

                // Without MARS a client sends the next request only after the reply; finish the running one first.
                await pending.ConfigureAwait(false);
                if (message.Ignored)
                {
                    continue;
                }

                if (message.ResetConnection)
                {
                    // sp_reset_connection semantics: back to the login database, open transaction rolled back.
                    Counters.OnResetConnection();
                    _database = _loginDatabase;
                    if (_transactionCount > 0)
                    {
                        _rolledBackByReset = _transactionId;
                        RollBack();
                    }
                }

                List<TdsStatement>? statements;
                bool isRpc;
                try
                {
                    statements = Prepare(message, out isRpc);
                }
                catch (Exception ex) when (ex is InvalidCastException or FormatException or OverflowException or ArgumentException or InvalidOperationException)
                {
                    isRpc = message.Type == TdsConstants.PacketRpc;
                    statements = [InternalError(ex)];
                }

                if (statements is null)
                {
                    // Not a request type this server answers (bulk load, transaction manager, SSPI): fail it like a protocol error.
                    return;
                }

                if (!_requestCts.TryReset())
                {
                    _requestCts.Dispose();
                    _requestCts = new CancellationTokenSource();
                }

                pending = ExecuteAsync(writer, statements, isRpc, _requestCts.Token, token);
                if (pending.IsCompleted)
                {
                    await pending.ConfigureAwait(false);
                }
            }
        }
        finally
        {
            await _requestCts.CancelAsync().ConfigureAwait(false);
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
            {
            }
        }
    }

    private List<TdsStatement>? Prepare(TdsMessage message, out bool isRpc)
    {
        isRpc = false;
        _resetInsteadOfReply = false;
        LoopbackRequest request;
        string? procedure = null;
        switch (message.Type)
        {
            case TdsConstants.PacketSqlBatch:
            {
                Counters.OnBatch();
                var reader = new SpanReader(message.Payload.Span);
                RpcParser.SkipAllHeaders(ref reader);
                var text = reader.Rest;
                var resetAfterExecuting = Faults.ResetAfterExecuting;
                if (_server.BatchHandler is null && resetAfterExecuting is null && _cachedStatements is not null && ReferenceEquals(_cachedDatabase, _database) && text.SequenceEqual(_cachedBatch))
                {
                    // The same batch again (a health check, a benchmark loop): reuse its parse, allocation-free.
                    return _cachedStatements;
                }

                var sql = System.Text.Encoding.Unicode.GetString(text);
                request = new LoopbackRequest(sql, false, null, [], SessionId, message.ResetConnection);
                _resetInsteadOfReply = resetAfterExecuting?.Invoke(request) == true;
                if (_server.BatchHandler is null)
                {
                    var statements = SqlSubset.Parse(sql, CreateContext(request), out var repeatable);
                    if (repeatable && text.Length <= 4096)
                    {
                        _cachedBatch = text.ToArray();
                        _cachedDatabase = _database;
                        _cachedStatements = statements;
                    }

                    return statements;
                }

                break;
            }

            case TdsConstants.PacketRpc:
            {
                Counters.OnRpc();
                isRpc = true;
                RpcCall call;
                try
                {
                    call = RpcParser.Parse(message.Payload.Span);
                }
                catch (InvalidDataException ex)
                {
                    return [TdsStatement.Error(8009, 16, 1, $"The incoming tabular data stream (TDS) remote procedure call (RPC) protocol stream is incorrect. {ex.Message}")];
                }

                procedure = call.ProcedureName;
                var parameters = new List<LoopbackParameter>(call.Parameters.Count);
                var sql = procedure;
                var isExecuteSql = string.Equals(procedure, "sp_executesql", StringComparison.OrdinalIgnoreCase);
                for (var i = 0; i < call.Parameters.Count; i++)
                {
                    var (name, value, column, output) = call.Parameters[i];
                    if (isExecuteSql && i == 0)
                    {
                        sql = value as string ?? string.Empty;
                        continue;
                    }

                    if (isExecuteSql && i == 1 && name.Length == 0)
                    {
                        continue; // the declaration list, e.g. "@id int"
                    }

                    parameters.Add(new LoopbackParameter(name, value, column, output));
                }

                request = new LoopbackRequest(sql, true, procedure, parameters, SessionId, message.ResetConnection);
                _resetInsteadOfReply = Faults.ResetAfterExecuting?.Invoke(request) == true;
                break;
            }

            case TdsConstants.PacketTransactionManager:
                Counters.OnTransactionRequest();
                return [TransactionManagerRequest(message.Payload.Span)];

            default:
                return null;
        }

        var handler = _server.BatchHandler;
        if (handler is not null)
        {
            LoopbackResponse? response;
            try
            {
                response = handler(request);
            }
#pragma warning disable CA1031 // A failing test hook becomes a SQL error the client sees, not a dead connection.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                return [TdsStatement.Error(50000, 16, 1, $"BatchHandler threw {ex.GetType().Name}: {ex.Message}")];
            }

            if (response is not null)
            {
                return [.. response.Statements];
            }
        }

        if (isRpc && !string.Equals(procedure, "sp_executesql", StringComparison.OrdinalIgnoreCase))
        {
            return [TdsStatement.Error(2812, 16, 62, $"Could not find stored procedure '{procedure}'.")];
        }

        return SqlSubset.Parse(request.Sql, CreateContext(request));
    }

    /// <summary>Maps a transaction-manager request (MS-TDS 2.2.6.9; SqlClient's BeginTransaction, Commit, Rollback, Save) to a step.</summary>
    private static TdsStatement TransactionManagerRequest(ReadOnlySpan<byte> payload)
    {
        var reader = new SpanReader(payload);
        RpcParser.SkipAllHeaders(ref reader);
        var type = reader.Remaining >= 2 ? reader.ReadUInt16() : (ushort)0;
        return type switch
        {
            5 => TdsStatement.Transaction(TdsStatementKind.BeginTransaction),
            7 => TdsStatement.Transaction(TdsStatementKind.CommitTransaction),
            8 => TdsStatement.Transaction(TdsStatementKind.RollbackTransaction),
            9 => TdsStatement.Transaction(TdsStatementKind.SaveTransaction),
            _ => TdsStatement.Error(8501, 16, 3, "MSDTC on server 'SAFESQL-LOOPBACK' is unavailable. (The SafeSql loopback server supports local transactions only.)"),
        };
    }

    private SqlContext CreateContext(LoopbackRequest request) => new()
    {
        SessionId = SessionId,
        Database = _database,
        ServerName = _server.Options.ServerName,
        VersionText = s_versionText,
        TimeProvider = _server.Options.TimeProvider,
        Parameters = request.Parameters,
    };

    private async Task ExecuteAsync(TdsWriter writer, List<TdsStatement> statements, bool isRpc, CancellationToken requestToken, CancellationToken sessionToken)
    {
        var doneToken = isRpc ? TdsConstants.TokenDoneInProc : TdsConstants.TokenDone;
        var anyError = false;
        if (_rolledBackByReset != 0)
        {
            TdsTokens.WriteTransactionEnvChange(writer, TdsConstants.EnvRollbackTransaction, _rolledBackByReset);
            _rolledBackByReset = 0;
        }

        for (var i = 0; i < statements.Count; i++)
        {
            if (requestToken.IsCancellationRequested)
            {
                return; // an attention arrived: the reader loop sends DONE_ATTN
            }

            var statement = statements[i];
            if (statement.Kind == TdsStatementKind.Select && !TryWriteResultSet(writer, statement))
            {
                statement = InternalError(new InvalidCastException($"A value of the result set does not fit its column's type ({string.Join(", ", statement.Columns.Select(c => c.TypeName))})."));
            }

            if (statement.RowsWritten > 0)
            {
                if (_transactionCount > 0)
                {
                    _pendingRows += statement.RowsWritten;
                }
                else
                {
                    Counters.OnRowsWritten(statement.RowsWritten);
                }
            }

            var last = i == statements.Count - 1 || statement.AbortsBatch || (statement.Kind == TdsStatementKind.Error && statement.Severity >= 20);
            var more = isRpc || !last ? TdsConstants.DoneMore : (ushort)0;
            switch (statement.Kind)
            {
                case TdsStatementKind.Select:
                    TdsTokens.WriteDone(writer, doneToken, (ushort)(more | TdsConstants.DoneCount), TdsConstants.CurCmdSelect, statement.Rows.Count);
                    break;
                case TdsStatementKind.Error:
                    WriteError(writer, statement);
                    if (statement.Severity > 10)
                    {
                        anyError = true;
                        TdsTokens.WriteDone(writer, doneToken, (ushort)(more | TdsConstants.DoneError), 0, 0);
                    }
                    else
                    {
                        TdsTokens.WriteDone(writer, doneToken, more, 0, 0);
                    }

                    if (statement.Severity >= 20)
                    {
                        // A fatal error ends the session on the server, as SQL Server does for severity 20-25.
                        await SendAsync(writer, endOfMessage: true, sessionToken).ConfigureAwait(false);
                        Close();
                        return;
                    }

                    break;
                case TdsStatementKind.WaitFor:
                    await SendAsync(writer, endOfMessage: false, sessionToken).ConfigureAwait(false);
                    using (var linked = CancellationTokenSource.CreateLinkedTokenSource(requestToken, sessionToken))
                    {
                        try
                        {
                            await Task.Delay(statement.Delay, _server.Options.TimeProvider, linked.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (requestToken.IsCancellationRequested && !sessionToken.IsCancellationRequested)
                        {
                            return;
                        }
                    }

                    TdsTokens.WriteDone(writer, doneToken, more, 0, 0);
                    break;
                case TdsStatementKind.Use:
                    var old = _database;
                    _database = statement.Database;
                    TdsTokens.WriteEnvChange(writer, TdsConstants.EnvDatabase, _database, old);
                    TdsTokens.WriteMessage(writer, isError: false, 5701, 1, 0, $"Changed database context to '{_database}'.", _server.Options.ServerName, string.Empty, 1);
                    TdsTokens.WriteDone(writer, doneToken, more, 0, 0);
                    break;
                case TdsStatementKind.RowsAffected:
                    TdsTokens.WriteDone(writer, doneToken, (ushort)(more | TdsConstants.DoneCount), 0xC3, statement.RowCount);
                    break;
                case TdsStatementKind.Disconnect:
                    Abort();
                    return;
                case TdsStatementKind.BeginTransaction:
                case TdsStatementKind.CommitTransaction:
                case TdsStatementKind.RollbackTransaction:
                case TdsStatementKind.SaveTransaction:
                    var failed = ExecuteTransaction(writer, statement);
                    anyError |= failed;
                    TdsTokens.WriteDone(writer, doneToken, (ushort)(more | (failed ? TdsConstants.DoneError : 0)), 0, 0);
                    break;
                default:
                    TdsTokens.WriteDone(writer, doneToken, more, 0, 0);
                    break;
            }

            if (last)
            {
                break;
            }
        }

        if (statements.Count == 0 && !isRpc)
        {
            TdsTokens.WriteDone(writer, TdsConstants.TokenDone, TdsConstants.DoneFinal, 0, 0);
        }

        if (_resetInsteadOfReply)
        {
            // Executed and applied; the client gets a reset instead of the reply and cannot tell whether it ran.
            _resetInsteadOfReply = false;
            writer.Reset();
            Abort();
            return;
        }

        if (isRpc)
        {
            TdsTokens.WriteReturnStatus(writer, 0);
            TdsTokens.WriteDone(writer, TdsConstants.TokenDoneProc, anyError ? TdsConstants.DoneError : TdsConstants.DoneFinal, 0, 0);
        }

        await SendAsync(writer, endOfMessage: true, sessionToken).ConfigureAwait(false);
    }

    /// <summary>Runs BEGIN/COMMIT/ROLLBACK/SAVE TRANSACTION like SQL Server (nested BEGINs count; ROLLBACK ends all).</summary>
    /// <returns>Whether an error was written.</returns>
    private bool ExecuteTransaction(TdsWriter writer, TdsStatement statement)
    {
        TdsStatement? error = null;
        switch (statement.Kind)
        {
            case TdsStatementKind.BeginTransaction:
                if (_transactionCount++ == 0)
                {
                    _transactionId = _server.NextTransactionId();
                    TdsTokens.WriteTransactionEnvChange(writer, TdsConstants.EnvBeginTransaction, _transactionId);
                }

                break;
            case TdsStatementKind.CommitTransaction when _transactionCount == 0:
                error = TdsStatement.Error(3902, 16, 1, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.", statement.Line);
                break;
            case TdsStatementKind.CommitTransaction:
                if (--_transactionCount == 0)
                {
                    TdsTokens.WriteTransactionEnvChange(writer, TdsConstants.EnvCommitTransaction, _transactionId);
                    Counters.OnRowsWritten(_pendingRows);
                    Counters.OnTransactionCommitted();
                    _pendingRows = 0;
                    _resetInsteadOfReply |= Faults.ResetAfterCommit;
                }

                break;
            case TdsStatementKind.RollbackTransaction when _transactionCount == 0:
                error = TdsStatement.Error(3903, 16, 1, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.", statement.Line);
                break;
            case TdsStatementKind.RollbackTransaction:
                RollBack();
                TdsTokens.WriteTransactionEnvChange(writer, TdsConstants.EnvRollbackTransaction, _transactionId);
                break;
            case TdsStatementKind.SaveTransaction when _transactionCount == 0:
                error = TdsStatement.Error(628, 16, 0, "Cannot issue SAVE TRANSACTION when there is no active transaction.", statement.Line);
                break;
        }

        if (error is not null)
        {
            WriteError(writer, error);
        }

        return error is not null;
    }

    /// <summary>Ends the open transaction without applying its rows.</summary>
    private void RollBack()
    {
        _transactionCount = 0;
        _pendingRows = 0;
        Counters.OnTransactionRolledBack();
    }

    /// <summary>Writes COLMETADATA and the rows; on a value that does not convert to its column type, drops what it wrote.</summary>
    private bool TryWriteResultSet(TdsWriter writer, TdsStatement statement)
    {
        var mark = writer.Mark();
        try
        {
            TdsTokens.WriteColMetadata(writer, statement.Columns);
            for (var r = 0; r < statement.Rows.Count; r++)
            {
                TdsTokens.WriteRow(writer, statement.Columns, statement.HasLateValues ? ResolveLateValues(statement.Rows[r]) : statement.Rows[r]);
            }

            return true;
        }
        catch (Exception ex) when (ex is InvalidCastException or FormatException or OverflowException or InvalidOperationException)
        {
            writer.Rewind(mark);
            return false;
        }
    }

    private static TdsStatement InternalError(Exception ex) =>
        TdsStatement.Error(50000, 16, 1, $"The SafeSql loopback server could not answer this request: {ex.GetType().Name}: {ex.Message}");

    private object?[] ResolveLateValues(IReadOnlyList<object?> row)
    {
        var values = new object?[row.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = ReferenceEquals(row[i], TdsStatement.TranCount) ? _transactionCount : row[i];
        }

        return values;
    }

    private void WriteError(TdsWriter writer, TdsStatement error)
    {
        var procedure = string.Empty;
        TdsTokens.WriteMessage(writer, error.Severity > 10, error.Number, error.State, error.Severity, error.Message, _server.Options.ServerName, procedure, error.Line);
    }

    /// <summary>Starts TLS on the connection: TDS 7.x with the handshake inside PRELOGIN packets and TLS 1.2 only, or TDS 8.0
    /// on the raw socket with TLS 1.2 or 1.3 and ALPN <c>tds/8.0</c>. From then on TDS packets travel inside TLS records.</summary>
    /// <returns><see langword="false"/> when a fault ended the connection.</returns>
    private async Task<bool> StartTlsAsync(TdsReader reader, ServerCertificates certificates, bool tds8, CancellationToken token)
    {
        if (Faults.ResetDuringTlsHandshake)
        {
            // Wait for the client's ClientHello, so the client is inside its handshake, waiting for the server's answer.
            await _socket.ReceiveAsync(new byte[1], SocketFlags.Peek, token).ConfigureAwait(false);
            Abort();
            return false;
        }

        Debug.Assert(!reader.HasBufferedBytes, "The client sends its ClientHello only after the PRELOGIN reply (or first, for TDS 8.0).");
        var transport = new TlsOverTdsStream(_network, wrapInPreLogin: !tds8);
        var tls = new SslStream(transport, leaveInnerStreamOpen: false);
        _tls = tls;
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificates.Select(Faults.ExpiredCertificate, Faults.CertificateNameMismatch),

            // TLS 1.3 only with TDS 8.0, as SQL Server documents it: inside PRELOGIN its post-handshake messages would cross
            // SqlClient's switch from framed to raw records.
            EnabledSslProtocols = tds8 ? SslProtocols.Tls12 | SslProtocols.Tls13 : SslProtocols.Tls12,
            ApplicationProtocols = tds8 ? s_tds8Protocols : null,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        await tls.AuthenticateAsServerAsync(options, token).ConfigureAwait(false);
        transport.FinishHandshake();
        Counters.OnTlsHandshake();
        reader.Stream = tls;
        _transport = tls;
        if (tds8)
        {
            _encryption = LoopbackConnectionEncryption.Tds8;
        }

        return true;
    }

    /// <summary>Waits for the client's first byte without consuming it.</summary>
    /// <returns>The byte, or -1 when the client closed the connection.</returns>
    private async Task<int> PeekFirstByteAsync(CancellationToken token)
    {
        var buffer = new byte[1];
        var n = await _socket.ReceiveAsync(buffer, SocketFlags.Peek, token).ConfigureAwait(false);
        return n == 0 ? -1 : buffer[0];
    }

    /// <summary>Reads and discards until the client closes the connection.</summary>
    private async Task DrainAsync(CancellationToken token)
    {
        var buffer = new byte[TdsConstants.DefaultPacketSize];
        while (await _network.ReadAsync(buffer, token).ConfigureAwait(false) > 0)
        {
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendAsync(TdsWriter writer, bool endOfMessage, CancellationToken token)
    {
        await writer.SendAsync(_transport, endOfMessage, Counters, token).ConfigureAwait(false);
    }
}

namespace SafeSql.Testing;

/// <summary>Thread-safe counters of what a <see cref="LoopbackSqlServer"/> received and sent since it started. Every read
/// is a single atomic 64-bit read; counters are never reset (take the difference of two reads to measure a step).</summary>
public sealed class LoopbackSqlServerCounters
{
    private long _tcpConnectionsAccepted;
    private long _logins;
    private long _accessTokenLogins;
    private long _expiredTokenRequests;
    private long _failedLogins;
    private long _batches;
    private long _rpcs;
    private long _attentions;
    private long _transactionRequests;
    private long _resetConnections;
    private long _bytesReceived;
    private long _bytesSent;
    private long _openConnections;
    private long _tlsHandshakes;
    private long _rowsWritten;
    private long _transactionsCommitted;
    private long _transactionsRolledBack;

    internal LoopbackSqlServerCounters()
    {
    }

    /// <summary>Gets the number of TCP connections the server accepted (including those it reset or refused to answer as a fault).</summary>
    public long TcpConnectionsAccepted => Interlocked.Read(ref _tcpConnectionsAccepted);

    /// <summary>Gets the number of successful logins (LOGIN7 answered with LOGINACK).</summary>
    public long Logins => Interlocked.Read(ref _logins);

    /// <summary>Gets the number of successful logins with an access token (federated authentication), a subset of
    /// <see cref="Logins"/>.</summary>
    public long AccessTokenLogins => Interlocked.Read(ref _accessTokenLogins);

    /// <summary>Gets the number of requests refused with error 37396 because the session's access token expired
    /// (<see cref="LoopbackSqlServerFaults.ExpireSessionTokens"/>).</summary>
    public long ExpiredTokenRequests => Interlocked.Read(ref _expiredTokenRequests);

    /// <summary>Gets the number of LOGIN7 requests answered with an error (wrong credentials or
    /// <see cref="LoopbackSqlServerFaults.FailLoginsWithError"/>).</summary>
    public long FailedLogins => Interlocked.Read(ref _failedLogins);

    /// <summary>Gets the number of SQL batch messages (TDS packet type 0x01) received, e.g. <c>ExecuteScalar</c> of a command
    /// without parameters.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Gets the number of RPC messages (TDS packet type 0x03) received, e.g. <c>sp_executesql</c> for a command with parameters.</summary>
    public long Rpcs => Interlocked.Read(ref _rpcs);

    /// <summary>Gets the number of attention messages (TDS packet type 0x06: <c>SqlCommand.Cancel</c> or a command timeout) received.</summary>
    public long Attentions => Interlocked.Read(ref _attentions);

    /// <summary>Gets the number of transaction-manager requests (TDS packet type 0x0E: <c>SqlConnection.BeginTransaction</c>,
    /// <c>SqlTransaction.Commit</c>, <c>Rollback</c>, <c>Save</c>) received.</summary>
    /// <remarks>Internal until the public API snapshot (tests/SafeSql.Tests/PublicApi/SafeSql.Testing.api.txt) takes it.</remarks>
    internal long TransactionRequests => Interlocked.Read(ref _transactionRequests);

    /// <summary>Gets the number of requests that carried the RESETCONNECTION status bit: SqlClient sets it on the first request
    /// after a pooled connection is reused (it never sends <c>sp_reset_connection</c> as text).</summary>
    public long ResetConnections => Interlocked.Read(ref _resetConnections);

    /// <summary>Gets the number of TDS bytes received from clients, headers included, after TLS decryption (TLS records and
    /// the handshake are not counted).</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Gets the number of TDS bytes sent to clients, headers included, before TLS encryption (TLS records and the
    /// handshake are not counted).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Gets the number of TLS handshakes the server completed (TDS 7.x inside PRELOGIN, or TDS 8.0 first); each one
    /// is a new physical connection that paid for a handshake, as against a real SQL Server.</summary>
    public long TlsHandshakes => Interlocked.Read(ref _tlsHandshakes);

    /// <summary>Gets the number of rows the server applied: rows of replies marked with <see cref="LoopbackResponse.WithRowsWritten"/>
    /// (and of <see cref="LoopbackResponse.RowsAffected"/>), counted when the statement ran outside a transaction, or when the
    /// COMMIT that ends its transaction ran; rows of a transaction rolled back (by ROLLBACK, by a reset of a pooled connection, or
    /// because its connection died) are never counted. Counted when executed, before the reply is sent (or the connection reset
    /// by <see cref="LoopbackSqlServerFaults.ResetAfterExecuting"/> or <see cref="LoopbackSqlServerFaults.ResetAfterCommit"/>).</summary>
    public long RowsWritten => Interlocked.Read(ref _rowsWritten);

    /// <summary>Gets the number of transactions committed (the COMMIT, from SQL or from <c>SqlTransaction.Commit</c>, that ended
    /// the outermost transaction), counted before the reply is sent.</summary>
    public long TransactionsCommitted => Interlocked.Read(ref _transactionsCommitted);

    /// <summary>Gets the number of transactions rolled back: by ROLLBACK, by the reset of a pooled connection that still had one
    /// open, or because the connection that held one closed or died (SQL Server rolls back the open transaction of a session that
    /// ends).</summary>
    public long TransactionsRolledBack => Interlocked.Read(ref _transactionsRolledBack);

    /// <summary>Gets the number of TCP connections currently open on the server side.</summary>
    public long OpenConnections => Interlocked.Read(ref _openConnections);

    internal void OnAccepted()
    {
        Interlocked.Increment(ref _tcpConnectionsAccepted);
        Interlocked.Increment(ref _openConnections);
    }

    internal void OnClosed() => Interlocked.Decrement(ref _openConnections);

    internal void OnTlsHandshake() => Interlocked.Increment(ref _tlsHandshakes);

    internal void OnLogin() => Interlocked.Increment(ref _logins);

    internal void OnFailedLogin() => Interlocked.Increment(ref _failedLogins);

    internal void OnAccessTokenLogin() => Interlocked.Increment(ref _accessTokenLogins);

    internal void OnExpiredTokenRequest() => Interlocked.Increment(ref _expiredTokenRequests);

    internal void OnBatch() => Interlocked.Increment(ref _batches);

    internal void OnRpc() => Interlocked.Increment(ref _rpcs);

    internal void OnAttention() => Interlocked.Increment(ref _attentions);

    internal void OnTransactionRequest() => Interlocked.Increment(ref _transactionRequests);

    internal void OnResetConnection() => Interlocked.Increment(ref _resetConnections);

    internal void OnRowsWritten(long rows) => Interlocked.Add(ref _rowsWritten, rows);

    internal void OnTransactionCommitted() => Interlocked.Increment(ref _transactionsCommitted);

    internal void OnTransactionRolledBack() => Interlocked.Increment(ref _transactionsRolledBack);

    internal void OnReceived(int bytes) => Interlocked.Add(ref _bytesReceived, bytes);

    internal void OnSent(int bytes) => Interlocked.Add(ref _bytesSent, bytes);
}

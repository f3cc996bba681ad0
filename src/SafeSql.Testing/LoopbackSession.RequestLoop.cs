using System.Net.Sockets;
using SafeSql.Testing.Tds;

namespace SafeSql.Testing;

/// <summary>The reader loop of a session after login: one request at a time, while an attention cancels the running one.</summary>
internal sealed partial class LoopbackSession
{
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
                if (_accessTokenExpired && message.Type is TdsConstants.PacketSqlBatch or TdsConstants.PacketRpc or TdsConstants.PacketTransactionManager)
                {
                    // Azure SQL revalidated the session's token and found it expired: every request fails until a new login.
                    Counters.OnExpiredTokenRequest();
                    isRpc = message.Type == TdsConstants.PacketRpc;
                    statements = [s_tokenExpiredInSession];
                }
                else
                {
                    try
                    {
                        statements = Prepare(message, out isRpc);
                    }
                    catch (Exception ex) when (ex is InvalidCastException or FormatException or OverflowException or ArgumentException or InvalidOperationException)
                    {
                        isRpc = message.Type == TdsConstants.PacketRpc;
                        statements = [InternalError(ex)];
                    }
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
}

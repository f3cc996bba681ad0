using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;

using Microsoft.Data.SqlClient;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>Connections for a holder that opens and closes them itself and is not a line of code (an EF Core <c>DbContext</c>).</summary>
public sealed partial class SafeSqlDataSource
{
    /// <summary>
    /// Creates an unopened connection for a holder that opens and closes it itself and is not a line of code (an EF Core
    /// <c>DbContext</c>): tracked on every open like <see cref="CreateConnection"/>, its leases naming <paramref name="holder"/>
    /// as the member at <paramref name="filePath"/>:<paramref name="lineNumber"/> (the line that configured the holder).
    /// Part of the integration API (<c>SAFESQLEXP002</c>).
    /// </summary>
    /// <param name="holder">What holds the connection, for leak reports (e.g. the <c>DbContext</c> type's name).</param>
    /// <param name="filePath">The file of the line that configured the holder, or <see langword="null"/>.</param>
    /// <param name="lineNumber">That line, or 0.</param>
    /// <returns>The holder's connection, with the data source's open and the leak report at the end of the holder's scope.</returns>
    /// <exception cref="ArgumentException"><paramref name="holder"/> is <see langword="null"/>, empty or white space.</exception>
    /// <exception cref="ObjectDisposedException">The data source was disposed.</exception>
    [Experimental(IntegrationApi.ExperimentalId, UrlFormat = IntegrationApi.ExperimentalUrl)]
    public SafeSqlHolderConnection CreateHolderConnection(string holder, string? filePath = null, int lineNumber = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(holder);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = new SqlConnection(_connectionString);
        var sentinel = new PerOpenLeaseSentinel(Tracker, holder, filePath, lineNumber);
        connection.StateChange += sentinel.OnStateChange;
        return new SafeSqlHolderConnection(this, connection, sentinel);
    }

    /// <summary>
    /// Opens a holder's connection (<see cref="CreateHolderConnection"/>, EF Core's) as the data source opens its own: the open
    /// retry, the circuit breaker and the open's budget, the same connection opened again on each attempt. While the breaker is
    /// open it fails at once with <see cref="SqlServerUnavailableException"/>.
    /// </summary>
    private void OpenHolderConnectionCore(SqlConnection connection)
    {
        var started = TimeProvider.GetTimestamp();
        ExceptionDispatchInfo? firstFailure = null;
        if (!_circuitNotClosed)
        {
            try
            {
                OpenHolderOnce(connection);
                return;
            }
            catch (Exception ex) when (!IsLeakPoolTimeout(ex))
            {
                firstFailure = ExceptionDispatchInfo.Capture(ex);
            }
        }

        RunOpenPipeline(new ReplayState(this, firstFailure, connection), started);
    }

    /// <summary>The asynchronous <see cref="OpenHolderConnectionCore"/>; a caller cancellation is rethrown as is.</summary>
    private async Task OpenHolderConnectionCoreAsync(SqlConnection connection, CancellationToken cancellationToken)
    {
        var started = TimeProvider.GetTimestamp();
        ExceptionDispatchInfo? firstFailure = null;
        if (!_circuitNotClosed)
        {
            try
            {
                await OpenHolderOnceAsync(connection, started, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (!IsLeakPoolTimeout(ex) && !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                firstFailure = ExceptionDispatchInfo.Capture(ex);
            }
        }

        await RunOpenPipelineAsync(new ReplayState(this, firstFailure, connection), started, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One synchronous attempt on a holder's connection; a pool timeout is thrown as <see cref="OpenOnce"/> throws it.</summary>
    private SqlConnection OpenHolderOnce(SqlConnection connection)
    {
        try
        {
            connection.Open();
            return connection;
        }
        catch (InvalidOperationException ex) when (Tracker.IsPoolTimeout(ex))
        {
            throw Tracker.CreatePoolExhaustedException(ex);
        }
    }

    /// <summary>
    /// One asynchronous attempt on a holder's connection, cut as the data source's own attempts are (<see cref="AwaitAttemptAsync"/>:
    /// a refusal the probe sees, the end of the budget), by canceling it: the holder keeps its connection, closed, and the open
    /// fails with <see cref="SqlServerUnavailableException"/>. A pool timeout is thrown as <see cref="CompleteOpenAsync"/> throws it.
    /// </summary>
    private async ValueTask<SqlConnection> OpenHolderOnceAsync(SqlConnection connection, long started, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task opening;
        try
        {
            opening = connection.OpenAsync(attempt.Token);
        }
        catch (Exception ex)
        {
            opening = Task.FromException(ex);
        }

        try
        {
            await AwaitAttemptAsync(connection, opening, started, attempt).ConfigureAwait(false);
            return connection;
        }
        catch (InvalidOperationException ex) when (Tracker.IsPoolTimeout(ex))
        {
            throw Tracker.CreatePoolExhaustedException(ex);
        }
    }
}

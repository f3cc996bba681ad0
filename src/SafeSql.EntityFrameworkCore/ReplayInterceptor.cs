using System.Data.Common;

using Microsoft.EntityFrameworkCore.Diagnostics;

namespace SafeSql.EntityFrameworkCore;

/// <summary>
/// Tells each context's <see cref="ReplayTracker"/> what EF is doing: opening the connection, beginning a transaction, running
/// a command (its <see cref="CommandSource"/>, and whether it runs inside a transaction), committing, and the exception of a
/// command or transaction operation that failed. <c>UseSafeSql</c>
/// registers the one instance; it holds no state of its own and changes nothing EF does.
/// </summary>
internal sealed class ReplayInterceptor : IDbConnectionInterceptor, IDbCommandInterceptor, IDbTransactionInterceptor
{
    public static ReplayInterceptor Instance { get; } = new();

    private ReplayInterceptor()
    {
    }

    public InterceptionResult ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        Tracker(eventData)?.OnOpening();
        return result;
    }

    public ValueTask<InterceptionResult> ConnectionOpeningAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        Tracker(eventData)?.OnOpening();
        return new(result);
    }

    public InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        OnCommand(command, eventData);
        return result;
    }

    public ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        OnCommand(command, eventData);
        return new(result);
    }

    public InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        OnCommand(command, eventData);
        return result;
    }

    public ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        OnCommand(command, eventData);
        return new(result);
    }

    public InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        OnCommand(command, eventData);
        return result;
    }

    public ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        OnCommand(command, eventData);
        return new(result);
    }

    public void CommandFailed(DbCommand command, CommandErrorEventData eventData) => Tracker(eventData)?.OnCommandFailed(eventData.Exception);

    public Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Tracker(eventData)?.OnCommandFailed(eventData.Exception);
        return Task.CompletedTask;
    }

    public InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result)
    {
        Tracker(eventData)?.OnBeginningTransaction();
        return result;
    }

    public ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
    {
        Tracker(eventData)?.OnBeginningTransaction();
        return new(result);
    }

    public InterceptionResult TransactionCommitting(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result)
    {
        Tracker(eventData)?.OnCommitting();
        return result;
    }

    public ValueTask<InterceptionResult> TransactionCommittingAsync(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        Tracker(eventData)?.OnCommitting();
        return new(result);
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Tracker(eventData)?.OnCommitted();

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Tracker(eventData)?.OnCommitted();
        return Task.CompletedTask;
    }

    public void TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) => Tracker(eventData)?.OnTransactionFailed(eventData.Exception);

    public Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Tracker(eventData)?.OnTransactionFailed(eventData.Exception);
        return Task.CompletedTask;
    }

    private static ReplayTracker? Tracker(DbContextEventData eventData) => eventData.Context is { } context ? ReplayTracker.Of(context) : null;

    private static void OnCommand(DbCommand command, CommandEventData eventData) =>
        Tracker(eventData)?.OnCommand(eventData.CommandSource, command.Transaction is not null);
}

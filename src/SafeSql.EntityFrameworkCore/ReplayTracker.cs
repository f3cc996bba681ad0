using System.Runtime.CompilerServices;

using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace SafeSql.EntityFrameworkCore;

/// <summary>
/// Where one context's current operation is, as <see cref="ReplayInterceptor"/> sees EF open connections, run commands and
/// commit transactions: what <see cref="SafeSqlExecutionStrategy"/> needs to tell a failure that may be replayed (before
/// sending, inside a transaction that never committed, a query) from one whose outcome is unknown (a COMMIT, or a write outside
/// a transaction, in flight). A context is used by one thread at a time, and so is its tracker.
/// </summary>
internal sealed class ReplayTracker
{
    private static readonly ConditionalWeakTable<DbContext, ReplayTracker> s_trackers = [];

    private SqlFailurePoint _point;
    private string _operation = "the operation";
    private CommandSource? _transactionSource;
    private bool _applied;
    private bool _lastCommandFailedOnServer;

    /// <summary>Gets where the operation was at its last step: <see cref="SqlFailurePoint.AfterApplied"/> once a step applied a change.</summary>
    public SqlFailurePoint Point => _applied ? SqlFailurePoint.AfterApplied : _point;

    /// <summary>Gets the exception of the last command or transaction operation (commit, rollback) that failed in this attempt,
    /// as EF's interceptors saw it, or <see langword="null"/>.</summary>
    public Exception? LastFailure { get; private set; }

    /// <summary>Gets the step in flight, for messages: "SaveChanges", "ExecuteSqlRaw", "COMMIT of the transaction of SaveChanges".</summary>
    public string Operation => _operation;

    /// <summary>
    /// Gets whether this attempt's open failed on the data source's open path, whose open retry, circuit breaker and budget
    /// (<see cref="SafeSqlOptions.OpenTimeout"/>) already decided on it, logged it and counted it.
    /// </summary>
    public bool OpenFailedOnDataSourcePath { get; private set; }

    public static ReplayTracker Of(DbContext context) => s_trackers.GetValue(context, static _ => new ReplayTracker());

    /// <summary>A new attempt of the operation starts: nothing of it was sent or applied yet.</summary>
    public void Reset()
    {
        _point = SqlFailurePoint.Unknown;
        _operation = "the operation";
        _transactionSource = null;
        _applied = false;
        _lastCommandFailedOnServer = false;
        LastFailure = null;
        OpenFailedOnDataSourcePath = false;
    }

    public void OnOpening() => Step(SqlFailurePoint.BeforeSending, "opening the connection");

    /// <summary>The open through the data source's open path failed (<see cref="OpenFailedOnDataSourcePath"/>).</summary>
    public void OnDataSourceOpenFailed() => OpenFailedOnDataSourcePath = true;

    public void OnBeginningTransaction()
    {
        _transactionSource = null;
        Step(SqlFailurePoint.BeforeSending, "BEGIN TRANSACTION");
    }

    public void OnCommand(CommandSource source, bool inTransaction)
    {
        if (inTransaction)
        {
            _transactionSource = source;
        }

        Step(inTransaction ? SqlFailurePoint.InsideUncommittedTransaction : IsRead(source) ? SqlFailurePoint.Read : SqlFailurePoint.WriteInFlight, source.ToString());
    }

    /// <summary>The command in flight failed; a server error (class below 20: the connection lives) means the server did not apply it.</summary>
    public void OnCommandFailed(Exception exception)
    {
        LastFailure = exception;
        _lastCommandFailedOnServer = exception is SqlException { Class: < 20 };
    }

    /// <summary>A commit or rollback failed: remembered, as EF may throw another exception in its place.</summary>
    public void OnTransactionFailed(Exception exception) => LastFailure = exception;

    public void OnCommitting() =>
        Step(SqlFailurePoint.CommitInFlight, _transactionSource is { } source ? $"COMMIT of the transaction of {source}" : "COMMIT");

    public void OnCommitted()
    {
        _applied = true;
        _point = SqlFailurePoint.Unknown;
    }

    /// <summary>Moves to the next step; a write outside a transaction that completed before it was applied.</summary>
    private void Step(SqlFailurePoint point, string operation)
    {
        _applied |= _point == SqlFailurePoint.WriteInFlight && !_lastCommandFailedOnServer;
        _lastCommandFailedOnServer = false;
        _point = point;
        _operation = operation;
    }

    /// <summary>EF Core's queries are reads by its contract (its own strategies replay them whole); a sequence's next value only
    /// burns a number. Every other source, <see cref="CommandSource.Unknown"/> included, may write.</summary>
    private static bool IsRead(CommandSource source) =>
        source is CommandSource.LinqQuery or CommandSource.FromSqlQuery or CommandSource.ValueGenerator or CommandSource.Scaffolding;
}

using System.Data.Common;

namespace SafeSql.EntityFrameworkCore;

/// <summary>
/// Thrown by <see cref="SafeSqlExecutionStrategy"/> when an EF Core operation failed at a moment that leaves its outcome
/// unknown, so it was not replayed: the connection died while a COMMIT, or a write outside a transaction (a single-statement
/// <c>SaveChanges</c>, <c>ExecuteSqlRaw</c>, <c>ExecuteUpdate</c>, <c>ExecuteDelete</c>), was in flight, or after an earlier
/// step of the same operation was applied. The server may or may not have applied the change; replaying it could apply it
/// twice. The original exception (<see cref="Microsoft.EntityFrameworkCore.DbUpdateException"/> or
/// <c>SqlException</c>) is the inner exception.
/// </summary>
/// <remarks>
/// <para>
/// Check whether the change is there before trying again. To have it recovered without a duplicate, run it through EF Core's
/// <c>ExecuteInTransaction(..., verifySucceeded)</c> (<c>ExecuteInTransactionAsync</c>): the strategy runs the verification
/// after a failed COMMIT and replays only when the change is not there. Or make the write idempotent (a client-generated key,
/// an upsert), so that trying again is harmless.
/// </para>
/// <para>
/// <see cref="DbException.IsTransient"/> is <see langword="false"/>: trying again blindly is what this exception prevents.
/// The rule and the measured behaviour of each operation are in docs/write-replay.md.
/// </para>
/// </remarks>
public sealed class SqlOutcomeUnknownException : DbException
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public SqlOutcomeUnknownException()
        : base("The outcome of the operation is unknown: the server may or may not have applied it.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public SqlOutcomeUnknownException(string? message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the exception that left the outcome unknown.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The exception the operation failed with.</param>
    public SqlOutcomeUnknownException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    internal SqlOutcomeUnknownException(string operation, SqlFailure failure, string reason, Exception innerException)
        : base(
            $"The outcome of {operation} is unknown: {failure.Kind} ({reason}). SafeSqlExecutionStrategy did not replay it, because a "
            + "replay could apply the change twice. Check whether the change is there before trying again; to have it recovered "
            + "without a duplicate, run it with EF Core's ExecuteInTransaction(..., verifySucceeded), which the strategy honours "
            + "(it runs the verification and replays only when the change is not there), or make the write idempotent. "
            + failure.Explanation,
            innerException)
    {
        Operation = operation;
        Failure = failure;
    }

    /// <summary>Gets the step that was in flight, e.g. "SaveChanges", "ExecuteSqlRaw", "COMMIT of the transaction of SaveChanges".</summary>
    /// <value><see langword="null"/> when the exception was not created by the strategy.</value>
    public string? Operation { get; }

    /// <summary>Gets SafeSql's classification of the failure (kind, SQL error number, explanation).</summary>
    /// <value><see langword="null"/> when the exception was not created by the strategy.</value>
    public SqlFailure? Failure { get; }

    /// <summary>Gets a value indicating whether trying again may succeed: <see langword="false"/>, as a blind retry may apply the change twice.</summary>
    public override bool IsTransient => false;
}

namespace SafeSql;

/// <summary>
/// The one decision, shared by the Polly retry strategies and the EF Core execution strategy, of whether a failed operation
/// may be replayed without applying a change twice: by where it failed (<see cref="SqlFailurePoint"/>), what failed
/// (<see cref="SqlFailure"/>), and whether the caller declared the operation idempotent. Whether the failure is worth a retry
/// at all (its kind, the retry budget) is decided by <see cref="SqlRetryStrategyOptions.Decide"/>, which calls this.
/// </summary>
/// <remarks>
/// A connection that dies while a COMMIT, or a statement outside a transaction, is in flight leaves the outcome unknown: the
/// server may have applied the change and lost only the answer. Replaying it could apply it twice; reporting it as unknown is
/// the only answer that is never wrong (the "commit outcome unknown" case EF Core documents under "Connection resiliency",
/// learn.microsoft.com/ef/core/miscellaneous/connection-resiliency, and answers with <c>ExecuteInTransaction(...,
/// verifySucceeded)</c>). A server that answered with an error (a deadlock victim, 1205) did not apply the failing statement:
/// SQL Server rolls back a failing statement, and a deadlock victim's whole transaction.
/// </remarks>
internal static class SqlReplayDecision
{
    /// <summary>Decides whether the operation may be replayed; returns the reason when it may not.</summary>
    /// <param name="failure">The classified failure.</param>
    /// <param name="point">Where the operation was when it failed.</param>
    /// <param name="isIdempotent">Whether the caller declared that applying the operation twice is harmless.</param>
    /// <param name="outcomeUnknown">Set when the reason is that the server may or may not have applied the change.</param>
    /// <returns><see langword="null"/> to replay; otherwise why not, as a sentence fragment for logs and messages.</returns>
    internal static string? GetReasonNotToReplay(SqlFailure failure, SqlFailurePoint point, bool isIdempotent, out bool outcomeUnknown)
    {
        outcomeUnknown = false;
        if (isIdempotent || point is SqlFailurePoint.BeforeSending or SqlFailurePoint.VerifiedNotApplied)
        {
            return null;
        }

        if (point == SqlFailurePoint.AfterApplied)
        {
            outcomeUnknown = true;
            return "an earlier step of the operation was already applied (a statement outside a transaction or a COMMIT completed), so replaying the whole operation would apply it again";
        }

        if (!failure.MayHaveExecuted || point is SqlFailurePoint.InsideUncommittedTransaction or SqlFailurePoint.Read)
        {
            return null;
        }

        if (point is SqlFailurePoint.WriteInFlight or SqlFailurePoint.CommitInFlight && failure.Kind == SqlFailureKind.TransientServerError)
        {
            return null;
        }

        outcomeUnknown = point is SqlFailurePoint.WriteInFlight or SqlFailurePoint.CommitInFlight;
        return point switch
        {
            SqlFailurePoint.WriteInFlight => "the outcome is unknown: the connection failed while a statement outside a transaction was in flight, so the server may have applied it",
            SqlFailurePoint.CommitInFlight => "the outcome is unknown: the connection failed while COMMIT was in flight, so the server may have committed the transaction",
            _ => "the request may have executed and the operation is not marked idempotent",
        };
    }
}

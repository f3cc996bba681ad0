namespace SafeSql;

/// <summary>
/// Where an operation was when it failed, as far as the code that replays it can tell: what
/// <see cref="SqlRetryStrategyOptions.Decide"/> needs to tell a failure that may be replayed from one whose outcome is unknown
/// (docs/write-replay.md).
/// </summary>
public enum SqlFailurePoint
{
    /// <summary>Not known: <see cref="SqlFailure.MayHaveExecuted"/> and whether the caller marked the operation idempotent decide
    /// (a Polly pipeline around an opaque delegate).</summary>
    Unknown = 0,

    /// <summary>Opening, logging in, beginning a transaction: nothing of the operation reached the server.</summary>
    BeforeSending,

    /// <summary>A statement inside a transaction that never committed: the server rolls the transaction back when its connection
    /// dies (and the client rolls it back after a server error), so nothing of it was applied.</summary>
    InsideUncommittedTransaction,

    /// <summary>A query the caller treats as a read (EF Core's queries): running it again changes nothing.</summary>
    Read,

    /// <summary>A statement outside a transaction (autocommit) was in flight: the server may have applied it.</summary>
    WriteInFlight,

    /// <summary>A COMMIT was in flight: the server may have committed the transaction.</summary>
    CommitInFlight,

    /// <summary>An earlier step of the same operation was applied (an autocommit statement completed, or a COMMIT): replaying the
    /// whole operation would apply that step again, wherever this failure happened.</summary>
    AfterApplied,

    /// <summary>The caller checked after the failure (EF Core's <c>verifySucceeded</c>) and the change is not there.</summary>
    VerifiedNotApplied,
}

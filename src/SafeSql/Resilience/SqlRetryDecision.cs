namespace SafeSql;

/// <summary>
/// Whether a failed operation is retried, and why not when it is not: the answer of <see cref="SqlRetryStrategyOptions.Decide"/>.
/// </summary>
/// <param name="ReasonNotToRetry"><see langword="null"/> when the operation is retried; otherwise why not, as a sentence fragment for
/// logs and messages ("AuthenticationFailure is never retried", "3 retries were made", ...).</param>
/// <param name="OutcomeUnknown"><see langword="true"/> when the reason is that the server may or may not have applied the change (a
/// COMMIT, or a write outside a transaction, was in flight): the caller should report the outcome as unknown rather than as a
/// failure (SafeSql.EntityFrameworkCore's <c>SqlOutcomeUnknownException</c>).</param>
public readonly record struct SqlRetryDecision(string? ReasonNotToRetry, bool OutcomeUnknown)
{
    /// <summary>Gets a value indicating whether the operation is retried.</summary>
    public bool ShouldRetry => ReasonNotToRetry is null;
}

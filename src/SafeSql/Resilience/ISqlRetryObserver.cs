namespace SafeSql;

/// <summary>Told about every classified failure and every retry (the factory logs and counts them).</summary>
internal interface ISqlRetryObserver
{
    /// <summary>A failed attempt was classified. <paramref name="reason"/> says why it is not retried (null when it is).</summary>
    void OnFailure(SqlFailure failure, int attemptNumber, bool willRetry, string? reason);

    /// <summary>A retry is about to wait <paramref name="delay"/>.</summary>
    void OnRetry(SqlFailure failure, int attemptNumber, TimeSpan delay);
}

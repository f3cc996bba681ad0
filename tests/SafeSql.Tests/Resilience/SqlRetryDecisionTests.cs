using Microsoft.Data.SqlClient;

using SafeSql.Testing;

using static SafeSql.Tests.Classification.SqlFailureClassifierTests;

namespace SafeSql.Tests.Resilience;

/// <summary>
/// <see cref="SqlRetryStrategyOptions.Decide"/> and <see cref="SqlRetryStrategyOptions.GetRetryDelay"/>, the one retry decision of
/// <c>AddSqlRetry</c>, the data source's open retry and EF Core's execution strategy, on failures the real SqlClient reported.
/// </summary>
public sealed class SqlRetryDecisionTests
{
    [Theory]
    [InlineData(SqlFailurePoint.BeforeSending, true, false)]
    [InlineData(SqlFailurePoint.Read, true, false)]
    [InlineData(SqlFailurePoint.InsideUncommittedTransaction, true, false)]
    [InlineData(SqlFailurePoint.VerifiedNotApplied, true, false)]
    [InlineData(SqlFailurePoint.WriteInFlight, false, true)]
    [InlineData(SqlFailurePoint.CommitInFlight, false, true)]
    [InlineData(SqlFailurePoint.AfterApplied, false, true)]
    [InlineData(SqlFailurePoint.Unknown, false, false)]
    public async Task Decide_ConnectionResetAfterTheServerExecuted_ReplaysOnlyWhereNothingCanHaveBeenApplied(SqlFailurePoint point, bool retried, bool outcomeUnknown)
    {
        // Arrange: the server executes the statement, then resets the connection before answering.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.ResetAfterExecuting = request => request.Sql.Contains("UPDATE", StringComparison.Ordinal);
        await using var connection = new SqlConnection(ConnectionString(server));
        await connection.OpenAsync();
        using var command = new SqlCommand("UPDATE Orders SET Total = 1", connection);
        var failure = SqlFailureClassifier.Classify(await CaptureAsync(() => command.ExecuteNonQueryAsync()));

        // Act
        var decision = new SqlRetryStrategyOptions().Decide(failure, point, attemptNumber: 0, earlierRetriesOfKind: 0);

        // Assert
        Assert.Equal(SqlFailureKind.ConnectionBroken, failure.Kind);
        Assert.Equal(retried, decision.ShouldRetry);
        Assert.Equal(outcomeUnknown, decision.OutcomeUnknown);
        Assert.Equal(retried, decision.ReasonNotToRetry is null);
    }

    [Fact]
    public async Task Decide_AuthenticationFailureAndSpentAttempts_AreNotRetriedWithTheReason()
    {
        // Arrange: a real 18456 at login; a real 1205 from the server.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.Faults.FailLoginsWithError = 18456;
        var login = SqlFailureClassifier.Classify(await CaptureAsync(async () =>
        {
            await using var connection = new SqlConnection(ConnectionString(server));
            await connection.OpenAsync();
        }));
        server.Faults.FailLoginsWithError = null;
        server.BatchHandler = _ => LoopbackResponse.Error(1205, 13, 51, "Transaction (Process ID 51) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.");
        await using var open = new SqlConnection(ConnectionString(server));
        await open.OpenAsync();
        using var command = new SqlCommand("SELECT 1", open);
        var deadlock = SqlFailureClassifier.Classify(await CaptureAsync(() => command.ExecuteScalarAsync()));
        var options = new SqlRetryStrategyOptions();

        // Act
        var never = options.Decide(login, SqlFailurePoint.BeforeSending, attemptNumber: 0, earlierRetriesOfKind: 0);
        var first = options.Decide(deadlock, SqlFailurePoint.WriteInFlight, attemptNumber: 0, earlierRetriesOfKind: 0);
        var spent = options.Decide(deadlock, SqlFailurePoint.WriteInFlight, attemptNumber: 3, earlierRetriesOfKind: 3);

        // Assert: 18456 never; a deadlock victim did not apply its statement (replayed even from a write); the fourth failure is
        // past MaxRetryAttempts (3).
        Assert.Equal(SqlFailureKind.AuthenticationFailure, login.Kind);
        Assert.Equal("AuthenticationFailure is never retried", never.ReasonNotToRetry);
        Assert.Equal(SqlFailureKind.TransientServerError, deadlock.Kind);
        Assert.True(first.ShouldRetry);
        Assert.Equal("3 retries were made", spent.ReasonNotToRetry);
        Assert.False(spent.OutcomeUnknown);
    }

    [Fact]
    public async Task GetRetryDelay_WithoutJitter_DoublesFromDelayUpToMaxDelay()
    {
        // Arrange: a real 1205.
        await using var server = await LoopbackSqlServer.StartAsync();
        server.BatchHandler = _ => LoopbackResponse.Error(1205, 13, 51, "Transaction (Process ID 51) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.");
        await using var connection = new SqlConnection(ConnectionString(server));
        await connection.OpenAsync();
        using var command = new SqlCommand("SELECT 1", connection);
        var deadlock = SqlFailureClassifier.Classify(await CaptureAsync(() => command.ExecuteScalarAsync()));
        var options = new SqlRetryStrategyOptions { UseJitter = false, Delay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(3) };

        // Act
        var delays = Enumerable.Range(0, 4).Select(attempt => options.GetRetryDelay(deadlock, attempt)).ToArray();

        // Assert
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3)], delays);
    }
}

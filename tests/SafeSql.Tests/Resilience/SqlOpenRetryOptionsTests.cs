using SafeSql.Classification;
using SafeSql.Internal.Validators;
using SafeSql.Resilience;

namespace SafeSql.Tests.Resilience;

public sealed class SqlOpenRetryOptionsTests
{
    [Fact]
    public void Constructor_Defaults_AreTheDocumentedValues()
    {
        // Act
        var options = new SqlOpenRetryOptions();

        // Assert
        Assert.True(options.Enabled);
        Assert.Equal(3, options.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromSeconds(1), options.BaseDelay);
        Assert.Equal(TimeSpan.FromSeconds(30), options.MaxDelay);
        Assert.Equal(TimeSpan.FromSeconds(30), options.SocketExhaustionDelay);
        Assert.Equal(SqlRetryBehavior.Retry, options.ConnectionRefused);
        Assert.Equal(SqlRetryBehavior.Retry, options.ConnectTimeout);
        Assert.Equal(SqlRetryBehavior.Retry, options.ConnectionBroken);
        Assert.Equal(SqlRetryBehavior.Retry, options.TransientServerError);
        Assert.Equal(SqlRetryBehavior.Retry, options.NetworkUnreachable);
        Assert.Equal(SqlRetryBehavior.RetryOnceAfterLongDelay, options.SocketExhaustion);
    }

    [Fact]
    public void SafeSqlOptionsValidator_OpenRetryOutOfRange_ReportsEveryBrokenRange()
    {
        // Arrange
        var options = new SafeSqlOptions { ConnectionString = "Data Source=tcp:127.0.0.1,1433" };
        options.OpenRetry.MaxRetryAttempts = 11;
        options.OpenRetry.BaseDelay = TimeSpan.FromMinutes(2);
        options.OpenRetry.MaxDelay = TimeSpan.Zero;
        options.OpenRetry.SocketExhaustionDelay = TimeSpan.FromSeconds(-1);
        options.OpenRetry.ConnectionRefused = (SqlRetryBehavior)7;

        // Act
        var result = new SafeSqlOptionsValidator().Validate("orders", options);

        // Assert
        Assert.True(result.Failed);
        Assert.Equal(
            """MaxRetryAttempts: The field orders.OpenRetry.MaxRetryAttempts must be between 1 and 10.; BaseDelay: The field orders.OpenRetry.BaseDelay must be between 00:00:00 and 00:01:00.; MaxDelay: The field orders.OpenRetry.MaxDelay must be between 00:00:00.0010000 and 00:10:00.; SocketExhaustionDelay: The field orders.OpenRetry.SocketExhaustionDelay must be between 00:00:00 and 00:10:00.; ConnectionRefused: The field orders.OpenRetry.ConnectionRefused is invalid.""",
            result.FailureMessage);
    }
}

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace SafeSql.EntityFrameworkCore.Tests;

public sealed class ArgumentValidationTests
{
    [Fact]
    public async Task UseSafeSql_NullArguments_ThrowWithParameterName()
    {
        await using var dataSource = SafeSqlDataSource.Create("Data Source=tcp:127.0.0.1,1;Integrated Security=false;User ID=sa;Password=p");

        Assert.Equal("optionsBuilder", Assert.Throws<ArgumentNullException>(() => ((DbContextOptionsBuilder)null!).UseSafeSql(dataSource)).ParamName);
        Assert.Equal("dataSource", Assert.Throws<ArgumentNullException>(() => new DbContextOptionsBuilder().UseSafeSql(null!)).ParamName);
        Assert.Equal("dataSource", Assert.Throws<ArgumentNullException>(() => new DbContextOptionsBuilder<OrdersContext>().UseSafeSql(null!)).ParamName);
    }

    [Theory]
    [InlineData(nameof(SafeSqlExecutionStrategyOptions.MaxRetryCount), "SafeSqlExecutionStrategyOptions.MaxRetryCount must be 0 to 10.")]
    [InlineData(nameof(SafeSqlExecutionStrategyOptions.Delay), "SafeSqlExecutionStrategyOptions.Delay must be 0 to 1 minute.")]
    [InlineData(nameof(SafeSqlExecutionStrategyOptions.MaxDelay), "SafeSqlExecutionStrategyOptions.MaxDelay must be more than 0 and at most 10 minutes.")]
    [InlineData(nameof(SafeSqlExecutionStrategyOptions.SocketExhaustionDelay), "SafeSqlExecutionStrategyOptions.SocketExhaustionDelay must be 0 to 10 minutes.")]
    public async Task Constructor_OptionOutOfRange_ThrowsNamingTheOption(string option, string message)
    {
        // Arrange
        await using var database = await OrdersDatabase.StartAsync();
        await using var dataSource = SafeSqlDataSource.Create(database.ConnectionString());
        await using var context = new OrdersContext(new DbContextOptionsBuilder<OrdersContext>().UseSafeSql(dataSource).Options);
        var dependencies = context.GetService<ExecutionStrategyDependencies>();
        var options = new SafeSqlExecutionStrategyOptions();
        switch (option)
        {
            case nameof(SafeSqlExecutionStrategyOptions.MaxRetryCount):
                options.MaxRetryCount = 11;
                break;
            case nameof(SafeSqlExecutionStrategyOptions.Delay):
                options.Delay = TimeSpan.FromMinutes(2);
                break;
            case nameof(SafeSqlExecutionStrategyOptions.MaxDelay):
                options.MaxDelay = TimeSpan.Zero;
                break;
            default:
                options.SocketExhaustionDelay = TimeSpan.FromSeconds(-1);
                break;
        }

        // Act
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => new SafeSqlExecutionStrategy(dependencies, dataSource, options));

        // Assert
        Assert.Equal("options", exception.ParamName);
        Assert.StartsWith(message, exception.Message, StringComparison.Ordinal);
        Assert.Equal("dataSource", Assert.Throws<ArgumentNullException>(() => new SafeSqlExecutionStrategy(dependencies, null!)).ParamName);
    }
}

using System.ComponentModel.DataAnnotations;

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
    [InlineData(nameof(SqlRetryStrategyOptions.MaxRetryAttempts), "The field MaxRetryAttempts must be between 1 and 2147483647.")]
    [InlineData(nameof(SqlRetryStrategyOptions.SocketExhaustionDelay), "The field SocketExhaustionDelay must be between 00:00:00 and 00:10:00.")]
    public async Task Constructor_OptionOutOfRange_ThrowsNamingTheOption(string option, string message)
    {
        // Arrange
        await using var database = await OrdersDatabase.StartAsync();
        await using var dataSource = SafeSqlDataSource.Create(database.ConnectionString());
        await using var context = new OrdersContext(new DbContextOptionsBuilder<OrdersContext>().UseSafeSql(dataSource).Options);
        var dependencies = context.GetService<ExecutionStrategyDependencies>();
        var options = option == nameof(SqlRetryStrategyOptions.MaxRetryAttempts)
            ? new SqlRetryStrategyOptions { MaxRetryAttempts = 0 }
            : new SqlRetryStrategyOptions { SocketExhaustionDelay = TimeSpan.FromSeconds(-1) };

        // Act: the strategy validates SafeSql's retry options with Polly's attributes, as Polly does when it builds a pipeline.
        var exception = Assert.Throws<ValidationException>(() => new SafeSqlExecutionStrategy(dependencies, dataSource, options));

        // Assert
        Assert.Equal(message, exception.Message);
        Assert.Equal("dataSource", Assert.Throws<ArgumentNullException>(() => new SafeSqlExecutionStrategy(dependencies, null!)).ParamName);
    }
}

namespace SafeSql.Tests.Classification;

public sealed class TransientSqlErrorsTests
{
    [Fact]
    public void Numbers_EveryNumber_HasADescriptionCitingItsSource()
    {
        // Act / Assert
        Assert.All(TransientSqlErrors.Numbers, number =>
        {
            var description = TransientSqlErrors.GetDescription(number);
            Assert.NotNull(description);
            Assert.Matches(@"\[(SqlClient retry|SqlClient open|EF Core)", description);
        });
    }

    [Fact]
    public void Numbers_AreAscendingAndMatchContains()
    {
        // Act / Assert
        Assert.Equal(TransientSqlErrors.Numbers.Order(), TransientSqlErrors.Numbers);
        Assert.Equal(37, TransientSqlErrors.Numbers.Count);
        for (var number = -5; number < 50000; number++)
        {
            Assert.Equal(TransientSqlErrors.Numbers.Contains(number), TransientSqlErrors.Contains(number));
        }
    }

    [Theory]
    [InlineData(-2)]
    [InlineData(20)]
    [InlineData(102)]
    [InlineData(18456)]
    [InlineData(10048)]
    [InlineData(10049)]
    [InlineData(10055)]
    [InlineData(10061)]
    public void Contains_NotTransientOrClassifiedElsewhere_ReturnsFalse(int number)
    {
        // Act / Assert
        Assert.False(TransientSqlErrors.Contains(number));
    }

    [Fact]
    public void Numbers_IncludeSqlClientBaselineTransientErrors()
    {
        // Arrange: SqlConfigurableRetryFactory.BaselineTransientErrors (dotnet/SqlClient, 20 numbers).
        int[] baseline = [233, 997, 1204, 1205, 1222, 4060, 4221, 10060, 10928, 10929, 40143, 40197, 40501, 40540, 40613, 42108, 42109, 49918, 49919, 49920];

        // Act / Assert
        Assert.All(baseline, number => Assert.True(TransientSqlErrors.Contains(number), $"{number} is in SqlClient's baseline"));
    }
}

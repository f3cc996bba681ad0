using System.Data.Common;

using SafeSql.ConnectionStrings;

namespace SafeSql.Tests.ConnectionStrings;

public sealed class SqlConnectionStringTokenizerTests
{
    [Fact]
    public void TryTokenize_RepeatedAndEmptyEntries_KeepsEveryEntryInOrder()
    {
        // Arrange
        var entries = new List<SqlConnectionStringEntry>();

        // Act
        var ok = SqlConnectionStringTokenizer.TryTokenize("Data Source=x; Password=ab ;Pooling=;Password=\"c;\"\"d\";a==b='e'';f'", entries, out _);

        // Assert: DbConnectionStringBuilder would keep one Password (the last) and drop Pooling.
        Assert.True(ok);
        Assert.Equal(
            [
                new SqlConnectionStringEntry("Data Source", "x", 0, false),
                new SqlConnectionStringEntry("Password", "ab", 15, false),
                new SqlConnectionStringEntry("Pooling", null, 28, false),
                new SqlConnectionStringEntry("Password", "c;\"d", 37, true),
                new SqlConnectionStringEntry("a=b", "e';f", 54, true),
            ],
            entries);
    }

    [Theory]
    [InlineData("a=\"b\"\0 ")]
    [InlineData("a='b' \0\0")]
    public void TryTokenize_QuotedValueFollowedByNul_KeepsTheValue(string connectionString)
    {
        // Arrange
        var entries = new List<SqlConnectionStringEntry>();

        // Act
        var ok = SqlConnectionStringTokenizer.TryTokenize(connectionString, entries, out _);

        // Assert: a NUL ends the string; the value before it stands, as DbConnectionStringBuilder reads it.
        Assert.True(ok);
        Assert.Equal("b", Assert.Single(entries).Value);
        Assert.Equal("b", new DbConnectionStringBuilder { ConnectionString = connectionString }["a"]);
    }

    [Theory]
    [InlineData("a=b;c", 4)]
    [InlineData("a=b;c='d", 4)]
    [InlineData("a=b'", 0)]
    [InlineData("a=b;=c", 4)]
    [InlineData("a=b\0c", 4)]
    [InlineData("a=\u0001", 0)]
    public void TryTokenize_Malformed_ReportsTheIndexSqlClientReports(string connectionString, int expected)
    {
        // Act
        var ok = SqlConnectionStringTokenizer.TryTokenize(connectionString, [], out var index);
        var sqlClient = Assert.Throws<ArgumentException>(() => new DbConnectionStringBuilder { ConnectionString = connectionString });

        // Assert
        Assert.False(ok);
        Assert.Equal(expected, index);
        Assert.EndsWith($"starting at index {expected}.", sqlClient.Message, StringComparison.Ordinal);
    }
}

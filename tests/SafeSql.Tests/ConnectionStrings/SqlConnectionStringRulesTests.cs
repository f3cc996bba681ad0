using System.Reflection;

using SafeSql.ConnectionStrings;

namespace SafeSql.Tests.ConnectionStrings;

public sealed class SqlConnectionStringRulesTests
{
    [Fact]
    public void All_ListsEveryRuleOnceInIdOrder()
    {
        // Arrange
        var properties = typeof(SqlConnectionStringRules)
            .GetProperties(BindingFlags.Public | BindingFlags.Static)
            .Where(p => p.PropertyType == typeof(SqlConnectionStringRule))
            .Select(p => (SqlConnectionStringRule)p.GetValue(null)!)
            .ToHashSet();

        // Act
        var ids = SqlConnectionStringRules.All.Select(r => r.Id).ToArray();

        // Assert
        Assert.Equal(Enumerable.Range(1, ids.Length).Select(i => $"SAFESQL{i:000}"), ids);
        Assert.True(properties.SetEquals(SqlConnectionStringRules.All));
    }

    [Fact]
    public void All_EveryRuleHasATitleAndAPublicSource()
    {
        // Act / Assert
        Assert.All(SqlConnectionStringRules.All, rule =>
        {
            Assert.False(string.IsNullOrWhiteSpace(rule.Title));
            Assert.Contains("https://learn.microsoft.com/", rule.Source, StringComparison.Ordinal);
            Assert.Equal($"{rule.Id} {rule.Title}", rule.ToString());
        });
    }

    [Fact]
    public void All_OnlyTheDuplicateKeywordAndEncryptionOffRulesAreWarningsByDefault()
    {
        // Act
        var warnings = SqlConnectionStringRules.All.Where(r => r.DefaultSeverity == SqlConnectionStringFindingSeverity.Warning);

        // Assert
        Assert.Equal([SqlConnectionStringRules.DuplicateKeyword, SqlConnectionStringRules.EncryptionOff], warnings);
    }
}

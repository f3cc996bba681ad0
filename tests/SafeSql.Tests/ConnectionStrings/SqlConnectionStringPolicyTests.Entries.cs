using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

using SafeSql.ConnectionStrings;
using SafeSql.Diagnostics;
using SafeSql.Tests.TestUtilities;

namespace SafeSql.Tests.ConnectionStrings;

/// <summary>The policy reads every entry where the string has it: repeated keywords, empty values, and what follows a password.</summary>
public sealed partial class SqlConnectionStringPolicyTests
{
    [Fact]
    public void Validate_UnknownKeywordWithoutValue_RefusedBySafeSql002()
    {
        // Act: SqlConnectionStringBuilder drops an entry without a value; SqlConnection refuses the keyword anyway.
        var result = SqlConnectionStringPolicy.Validate(Server + ";Bogus=");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL002", null, null);
        Assert.StartsWith("SAFESQL002: Keyword 'Bogus' is not supported by Microsoft.Data.SqlClient", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_KeywordSqlConnectionFailsOnWithoutValue_RefusedBySafeSql003()
    {
        // Act: "Pooling=" is read as the default by the builder, but SqlConnection throws a NullReferenceException on it.
        var result = SqlConnectionStringPolicy.Validate(Server + ";Pooling=false;Pooling=");

        // Assert
        var finding = Assert.Single(result.Errors);
        Assert.Equal(("SAFESQL003", "Pooling", null), (finding.RuleId, finding.Keyword, finding.CurrentValue));
        Assert.Equal(
            """SAFESQL003: Pooling has no value (nothing follows its '='). SqlConnectionStringBuilder reads it as SqlClient's default, but SqlConnection fails on this keyword without a value when the connection is created, so the application would fail on its first query instead of at startup. Fix: Remove the Pooling entry to use SqlClient's default (true), or give it a value. Source: https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnection.connectionstring (SqlClient: "Invalid value for key")""",
            finding.Message);
        var warning = Assert.Single(result.Warnings);
        Assert.Equal("Pooling is given twice. SqlClient uses the last one, which is empty, so SqlClient's default applies.", warning.Description);
    }

    [Fact]
    public void Validate_KeywordGivenTwiceWithOneSpelling_WarnsWithSafeSql012()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Connect Timeout=5;Connect Timeout=30", s_named);

        // Assert
        Assert.True(result.IsAccepted);
        var warning = Assert.Single(result.Findings);
        Assert.Equal("SAFESQL012", warning.RuleId);
        Assert.Equal("30", warning.CurrentValue);
        Assert.Equal(
            """SAFESQL012: Connect Timeout is given twice. SqlClient uses the last one (30). A setting given twice makes the value in effect easy to misread, and an edit to the first one silently does nothing. Fix: Keep one of them. Source: https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnection.connectionstring (synonyms of one keyword, the last value wins)""",
            warning.Message);
        Assert.Contains(";Connect Timeout=30;", result.NormalizedConnectionString, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ValidSettingAfterAnUnquotedPassword_IsShownInSqlClientsWordsOnly()
    {
        // Act: "Pooling=false" may be part of the password "Zq7;Pooling=false"; SqlClient applies it all the same, and both
        // its keyword and its value are words of SqlClient's vocabulary, never free text.
        var result = SqlConnectionStringPolicy.Validate("Data Source=db;Password=Zq7;Pooling=false;Application Name=Xv9;Application Name=Kp4");

        // Assert
        var error = Assert.Single(result.Errors);
        Assert.Equal(("SAFESQL004", "Pooling", "false"), (error.RuleId, error.Keyword, error.CurrentValue));
        Assert.StartsWith("SAFESQL004: Pooling=false turns connection pooling off.", error.Message, StringComparison.Ordinal);
        var warning = Assert.Single(result.Warnings);
        Assert.Null(warning.CurrentValue);
        Assert.Equal("Application Name is given twice. SqlClient uses the last one.", warning.Description);
    }

    [Theory]
    [InlineData("Data Source=db;Application Name=x Password=Zq7;Xv9=1")]
    [InlineData("Data Source=db;Application Name='x;Password=Zq7;Xv9=1")]
    [InlineData("Data Source=db;Bogus;Password=Zq7;Xv9=1")]
    [InlineData("Data Source=db;Pwd=\"a;Password=Zq7\";Xv9;Kp4=1")]
    public void Validate_PasswordSwallowedByAnotherEntry_HidesWhatFollows(string connectionString)
    {
        // Act: a missing ';' or an open quote carries "Password=..." into another entry's text.
        var result = SqlConnectionStringPolicy.Validate(connectionString);

        // Assert
        Assert.False(result.IsAccepted);
        foreach (var finding in result.Findings)
        {
            AssertNoSecret(finding.Message);
            AssertNoSecret(finding.CurrentValue);
            Assert.True(!finding.Message.Contains("Zq7", StringComparison.Ordinal), "A finding quotes the password (not shown).");
        }
    }

    [Fact]
    public void StartupValidation_InitialCatalogAfterAnUnquotedPassword_IsNotLogged()
    {
        // Arrange
        var logs = new FakeLogCollector();
        var services = new ServiceCollection().AddLogging(logging => logging.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Debug));
        services.AddSafeSql("Data Source=db;Password=Zq7;Initial Catalog=Xv9Kp4");
        using var provider = services.BuildServiceProvider();

        // Act
        provider.GetRequiredService<IStartupValidator>().Validate();

        // Assert
        var accepted = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.ConnectionStringAccepted);
        Assert.Equal(
            "SafeSql instance '(default)': connection string to Data Source 'db', Initial Catalog '(not shown: it may be part of the password)' accepted and normalized.",
            accepted.Message);
    }
}

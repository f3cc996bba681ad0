using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

using Polly;

using SafeSql.ConnectionStrings;
using SafeSql.Diagnostics;
using SafeSql.Tests.DependencyInjection;
using SafeSql.Tests.TestUtilities;

namespace SafeSql.Tests.Issues;

/// <summary>
/// Regressions found by fuzzing every entry point that takes a connection string: exceptions SqlClient's parser throws
/// besides ArgumentException, password fragments in findings when entries repeat, are empty or follow an empty password, and
/// a normalization that changed on a second pass.
/// </summary>
public sealed partial class IssuesTests
{
    /// <summary>The fragment of a password that the strings below split into other entries.</summary>
    private const string Fragment = "Zx1secret";

    public static TheoryData<string> StringsSqlClientRefusesWithoutArgumentException() => new()
    {
        "Data Source=x;Pooling=1", // FormatException
        "Data Source=x;Connect Timeout=99999999999", // OverflowException
        "Data Source=x;Async=true", // NotSupportedException on older SqlClient, ArgumentException on 6.1.8 and 7.1.1
        "Data Source=x;Password=abc;Encrypt=Zx1secret", // FormatException quoting the value where Encrypt is a Boolean
        "Data Source=x;Password=abc;Pooling=Zx1secret", // FormatException: "String 'Zx1secret' was not recognized as a valid Boolean."
        "Data Source=x;Context Connection=true", // InvalidOperationException
    };

    public static TheoryData<string, string> StringsWithPasswordFragments() => new()
    {
        // An empty unquoted Password: the rest of the password becomes the keyword "Zx1secret;Pooling".
        { "Data Source=x;Password=;Zx1secret;Pooling=true", "SAFESQL002" },

        // A later empty Password removes the entry from DbConnectionStringBuilder, which hid that Zx1secret follows it.
        { "Data Source=x;Password=abc;Zx1secret=1;Password=", "SAFESQL002" },

        // Repeated keywords: the builder keeps the first position with the last value, so the fragment was judged before the password.
        { "Data Source=x;Connect Timeout=5;Password=abc;Connect Timeout=Zx1secret", "SAFESQL003" },
        { "Data Source=x;Password='old';Initial Catalog=db;Password=abc;Zx1secret=1", "SAFESQL002" },
    };

    [Theory]
    [MemberData(nameof(StringsSqlClientRefusesWithoutArgumentException))]
    public void RetryBuilders_StringSqlClientRefusesWithAnyException_ThrowTheDocumentedArgumentException(string connectionString)
    {
        // Arrange
        Action[] entryPoints =
        [
            () => new ResiliencePipelineBuilder().AddSqlOpenRetry(new SqlRetryStrategyOptions(), connectionString),
            () => new ResiliencePipelineBuilder<int>().AddSqlOpenRetry(new SqlRetryStrategyOptions(), connectionString),
            () => new ResiliencePipelineBuilder().AddSqlRetry(new SqlRetryStrategyOptions(), connectionString),
            () => new ResiliencePipelineBuilder<int>().AddSqlRetry(new SqlRetryStrategyOptions(), connectionString),
        ];

        foreach (var entryPoint in entryPoints)
        {
            // Act
            var ex = Record.Exception(entryPoint);

            // Assert
            var argument = Assert.IsType<ArgumentException>(ex);
            Assert.Equal(
                """The connection string cannot be parsed by SqlConnectionStringBuilder (a value containing ';' or '=' must be quoted). SqlClient's message is not shown because it can quote part of a password. Run SqlConnectionStringPolicy.Validate on the connection string for the rule that fails. (Parameter 'connectionString')""",
                argument.Message);
            Assert.Equal("connectionString", argument.ParamName);
            Assert.Null(argument.InnerException);
        }
    }

    [Theory]
    [MemberData(nameof(StringsWithPasswordFragments))]
    public void Validate_EntryThatMayBePartOfAPassword_IsNeverQuoted(string connectionString, string ruleId)
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(connectionString);

        // Assert
        Assert.False(result.IsAccepted);
        var finding = Assert.Single(result.Errors);
        Assert.Equal(ruleId, finding.RuleId);
        Assert.Null(finding.Keyword);
        Assert.Null(finding.CurrentValue);
        foreach (var any in result.Findings)
        {
            var texts = new[] { any.Message, any.Keyword, any.CurrentValue };
            Assert.True(!texts.Any(t => t?.Contains(Fragment, StringComparison.OrdinalIgnoreCase) == true), $"{any.RuleId} quotes the fragment of the password (not shown).");
        }
    }

    [Theory]
    [MemberData(nameof(StringsWithPasswordFragments))]
    public async Task StartAsync_EntryThatMayBePartOfAPassword_FailsWithoutQuotingItInTheExceptionOrTheLogs(string connectionString, string ruleId)
    {
        // Arrange
        var logs = new FakeLogCollector();
        using var host = SafeSqlServiceCollectionExtensionsTests.BuildHost(logs, services => services.AddSafeSql(connectionString));

        // Act
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        // Assert
        Assert.Contains($"refused. {ruleId}: ", ex.Message, StringComparison.Ordinal);
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            Assert.True(!e.ToString().Contains(Fragment, StringComparison.OrdinalIgnoreCase), "The exception quotes the fragment of the password (not shown).");
        }

        Assert.Contains(logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.ConnectionStringRefused);
        Assert.True(
            !logs.GetSnapshot().Any(r => r.Message.Contains(Fragment, StringComparison.OrdinalIgnoreCase) || r.Exception?.ToString().Contains(Fragment, StringComparison.OrdinalIgnoreCase) == true),
            "A log record quotes the fragment of the password (not shown).");
    }

    [Theory]
    [InlineData("Data Source=x;Application Name=''", "Data Source=x;Application Name=\"\"")]
    [InlineData("Data Source=x;App=\"\";Initial Catalog=db", "Data Source=x;Initial Catalog=db;Application Name=\"\"")]
    public void Validate_ExplicitlyEmptyValue_NormalizesTheSameOnASecondPass(string connectionString, string expected)
    {
        // Act
        var first = SqlConnectionStringPolicy.Validate(connectionString).NormalizedConnectionString;
        var second = SqlConnectionStringPolicy.Validate(first!).NormalizedConnectionString;

        // Assert: the empty Application Name is kept as SqlClient reads it (the empty string), not dropped on the second pass.
        Assert.Equal(expected, first);
        Assert.Equal(first, second);
    }
}

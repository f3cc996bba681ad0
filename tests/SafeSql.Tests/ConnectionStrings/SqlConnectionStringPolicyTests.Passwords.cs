using SafeSql.ConnectionStrings;

namespace SafeSql.Tests.ConnectionStrings;

public sealed partial class SqlConnectionStringPolicyTests
{
    /// <summary>The password every string below carries; its ';'-separated parts are checked too.</summary>
    internal const string Secret = "Zq7-Hunter2;Xv9=Kp4";

    /// <summary>Strings that break rules, in the Password= and Pwd= forms, with the password quoted, unquoted (so it splits
    /// into fake entries) and inside malformed text.</summary>
    public static TheoryData<string> StringsWithPasswords()
    {
        var data = new TheoryData<string>();
        foreach (var keyword in new[] { "Password", "Pwd", "pwd", "PASSWORD" })
        {
            // Quoted correctly, with rules broken around it.
            data.Add($"Data Source=db;{keyword}=\"{Secret}\";Pooling=false;Max Pool Size=40000;Connect Timeout=0;Connection Lifetime=1");
            data.Add($"Data Source=db;{keyword}=\"{Secret}\";Bogus=1;Min Pool Size=500");

            // Unquoted: "Xv9" becomes a fake unknown keyword with the value "Kp4".
            data.Add($"Data Source=db;{keyword}={Secret};Pooling=false");

            // Unquoted, the fragment looks like a known keyword with an invalid value.
            data.Add($"Data Source=db;{keyword}=Zq7-Hunter2;Max Pool Size=Xv9Kp4");

            // Malformed: an unterminated quote, a fragment without '='.
            data.Add($"Data Source=db;{keyword}='{Secret}");
            data.Add($"Data Source=db;{keyword}=Zq7-Hunter2;Xv9Kp4");

            // Given twice (Password and Pwd): the duplicate warning must not show either value. (The same spelling twice is
            // merged by the parser before SafeSql sees it.)
            if (keyword.StartsWith("Pa", StringComparison.OrdinalIgnoreCase))
            {
                data.Add($"Data Source=db;Pwd=\"{Secret}\";{keyword}=\"{Secret}x\"");
            }
            else
            {
                data.Add($"Data Source=db;Password=\"{Secret}\";{keyword}=\"{Secret}x\"");
            }

            // No Data Source, and an over-long application name.
            data.Add($"{keyword}=\"{Secret}\";Initial Catalog=Orders");
            data.Add($"Data Source=db;{keyword}=\"{Secret}\";Application Name={new string('a', 200)}");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(StringsWithPasswords))]
    public void Validate_AnyFinding_NeverContainsThePassword(string connectionString)
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(connectionString);

        // Assert
        Assert.NotEmpty(result.Findings);
        foreach (var finding in result.Findings)
        {
            AssertNoSecret(finding.Message);
            AssertNoSecret(finding.Description);
            AssertNoSecret(finding.Reason);
            AssertNoSecret(finding.Fix);
            AssertNoSecret(finding.CurrentValue);
            AssertNoSecret(finding.Keyword);
        }

        AssertNoSecret(result.ToString());
    }

    [Fact]
    public void Validate_UnknownKeywordRightAfterAnUnquotedPassword_HidesItsName()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate($"Data Source=db;Pwd={Secret}");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL002", null, null);
        Assert.Equal(
            """SAFESQL002: An entry after Password is not a keyword SqlClient knows (its name is not shown because it may be part of the password). A password that contains ';' is split into extra entries unless it is quoted, and SqlClient refuses the whole connection string ("Keyword not supported") at the first Open. Fix: Enclose the password in double quotes (Password="..."), doubling any double quote inside it, or correct the keyword that follows it. Source: https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnection.connectionstring (SqlClient: "Keyword not supported")""",
            finding.Message);
    }

    [Fact]
    public void Validate_UnknownKeywordAfterAQuotedPassword_IsNamed()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate($"Data Source=db;Password=\"{Secret}\";Max Pool Sise=10");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL002", null, null);
        Assert.StartsWith("SAFESQL002: Keyword 'Max Pool Sise' is not supported", finding.Message, StringComparison.Ordinal);
        AssertNoSecret(finding.Message);
    }

    [Fact]
    public void Validate_InvalidValueRightAfterAnUnquotedPassword_HidesNameAndValue()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate("Data Source=db;Password=Zq7-Hunter2;Max Pool Size=Xv9Kp4");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL003", null, null);
        Assert.Equal(
            """SAFESQL003: An entry after Password has a value SqlClient does not accept (its name and value are not shown because they may be part of the password). A password that contains ';' is split into extra entries unless it is quoted, and SqlClient refuses the whole connection string at the first Open. Fix: Enclose the password in double quotes (Password="..."), doubling any double quote inside it, or correct the value that follows it. Source: https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnection.connectionstring (SqlClient: "Invalid value for key")""",
            finding.Message);
    }

    [Fact]
    public void Validate_PasswordGivenTwice_WarnsWithoutEitherValue()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate("Data Source=db;Password=first-Zq7;Pwd=second-Xv9", s_named);

        // Assert
        var finding = Assert.Single(result.Findings);
        Assert.Equal("SAFESQL012", finding.RuleId);
        Assert.Null(finding.CurrentValue);
        Assert.Equal("Password is given twice, as Password and as Pwd. SqlClient uses the last one.", finding.Description);
    }

    internal static void AssertNoSecret(string? text)
    {
        if (text is null)
        {
            return;
        }

        // Assert.True, not Assert.DoesNotContain: a failure must not print the password or the text that holds it.
        Assert.True(!text.Contains(Secret, StringComparison.OrdinalIgnoreCase), "The text contains the password (not shown).");
        foreach (var part in new[] { "Zq7-Hunter2", "Xv9", "Kp4", "Xv9Kp4", "first-Zq7", "second-Xv9" })
        {
            Assert.True(!text.Contains(part, StringComparison.OrdinalIgnoreCase), "The text contains a fragment of the password (not shown).");
        }
    }
}

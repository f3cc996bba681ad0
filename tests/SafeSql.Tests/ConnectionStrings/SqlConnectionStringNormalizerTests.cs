using System.Reflection;

using Microsoft.Data.SqlClient;

using SafeSql.ConnectionStrings;

namespace SafeSql.Tests.ConnectionStrings;

public sealed class SqlConnectionStringNormalizerTests
{
    private const string Canonical =
        "Data Source=tcp:db.example.com,1433;Initial Catalog=Orders;User ID=app;Password=S3cret;Max Pool Size=200;Load Balance Timeout=300;Application Name=OrdersApi";

    [Theory]
    [InlineData("Data Source=tcp:db.example.com,1433;Initial Catalog=Orders;User ID=app;Password=S3cret;Max Pool Size=200;Load Balance Timeout=300")]
    [InlineData("Server=tcp:db.example.com,1433;Database=Orders;UID=app;Pwd=S3cret;Max Pool Size=200;Connection Lifetime=300")]
    [InlineData("connection lifetime=300;max pool size=200;pwd=S3cret;user=app;database=Orders;address=tcp:db.example.com,1433")]
    [InlineData("Address=tcp:db.example.com,1433; Initial Catalog = Orders ;User ID=app;Password=\"S3cret\";Pooling=true;Max Pool Size=200;Min Pool Size=0;Load Balance Timeout=300;Connect Timeout=15;;")]
    public void Normalize_EquivalentStrings_GiveTheIdenticalString(string connectionString)
    {
        // Arrange
        var options = Options(connectionString);
        options.ConnectionStringPolicy.AllowConnectionLifetime = true;

        // Act
        var normalized = SqlConnectionStringNormalizer.Normalize(options);

        // Assert: one string, so one SqlClient pool (SqlClient keys its pools by the exact string).
        Assert.Equal(Canonical, normalized);
    }

    [Fact]
    public void Normalize_ValuesEqualToSqlClientDefaults_AreLeftOut()
    {
        // Arrange: the defaults of the SqlClient under test, read at run time (Encrypt is Mandatory, written True, since 5.0).
        var defaults = new SqlConnectionStringBuilder();
        var options = Options($"Data Source=db;Pooling={defaults.Pooling};Max Pool Size={defaults.MaxPoolSize};Min Pool Size={defaults.MinPoolSize};Connect Timeout={defaults.ConnectTimeout};Enlist={defaults.Enlist};Encrypt={defaults.Encrypt};Application Name=Orders");

        // Act
        var normalized = SqlConnectionStringNormalizer.Normalize(options);

        // Assert
        Assert.Equal("Data Source=db;Application Name=Orders", normalized);
    }

    [Fact]
    public void Normalize_EncryptDefault_IsMandatoryOnEverySupportedSqlClient()
    {
        // Arrange
        var defaults = new SqlConnectionStringBuilder();

        // Act
        var mandatory = SqlConnectionStringNormalizer.Normalize(Options("Data Source=db;Encrypt=true;Application Name=Orders"));
        var optional = SqlConnectionStringNormalizer.Normalize(Options("Data Source=db;Encrypt=false;Application Name=Orders"));

        // Assert: SqlClient 5.0 changed the default from false to Mandatory; 6.1.8 and 7.1.1 both have it, so Encrypt=true is
        // the default (left out) and Encrypt=false is a setting (kept).
        Assert.Equal(SqlConnectionEncryptOption.Mandatory, defaults.Encrypt);
        Assert.Equal("Data Source=db;Application Name=Orders", mandatory);
        Assert.Equal("Data Source=db;Encrypt=False;Application Name=Orders", optional);
    }

    [Fact]
    public void Normalize_ApplicationNameMissing_FilledFromTheOptions()
    {
        // Act
        var normalized = SqlConnectionStringNormalizer.Normalize(Options("Data Source=db;Initial Catalog=Orders"));

        // Assert
        Assert.Equal("Data Source=db;Initial Catalog=Orders;Application Name=OrdersApi", normalized);
    }

    [Fact]
    public void Normalize_ApplicationNameMissingAndNotConfigured_UsesTheEntryAssemblyName()
    {
        // Arrange
        var options = new SafeSqlOptions { ConnectionString = "Data Source=db" };
        var expected = Assembly.GetEntryAssembly()?.GetName().Name ?? "SafeSql";

        // Act
        var normalized = SqlConnectionStringNormalizer.Normalize(options);

        // Assert
        Assert.Equal($"Data Source=db;Application Name={expected}", normalized);
    }

    [Fact]
    public void Normalize_ApplicationNameGiven_IsKeptEvenWhenItIsSqlClientsDefault()
    {
        // Act
        var given = SqlConnectionStringNormalizer.Normalize(Options("Data Source=db;App=Billing"));
        var sqlClientDefault = SqlConnectionStringNormalizer.Normalize(Options("Data Source=db;Application Name=Core Microsoft SqlClient Data Provider"));

        // Assert
        Assert.Equal("Data Source=db;Application Name=Billing", given);
        Assert.Equal("Data Source=db;Application Name=\"Core Microsoft SqlClient Data Provider\"", sqlClientDefault);
    }

    [Fact]
    public void Normalize_SetApplicationNameWhenMissingFalse_AddsNone()
    {
        // Arrange
        var options = Options("Data Source=db");
        options.ConnectionStringPolicy.SetApplicationNameWhenMissing = false;

        // Act
        var normalized = SqlConnectionStringNormalizer.Normalize(options);

        // Assert
        Assert.Equal("Data Source=db", normalized);
    }

    [Fact]
    public void Normalize_PasswordWithSemicolonAndQuotes_RoundTripsThroughSqlClient()
    {
        // Arrange
        const string Password = "a;b'c\"d= e";
        var options = Options($"Data Source=db;Password=\"{Password.Replace("\"", "\"\"", StringComparison.Ordinal)}\"");

        // Act
        var normalized = SqlConnectionStringNormalizer.Normalize(options);

        // Assert
        Assert.Equal(Password, new SqlConnectionStringBuilder(normalized).Password);
        Assert.Equal(normalized, SqlConnectionStringNormalizer.Normalize(Options(normalized)));
    }

    [Fact]
    public void Normalize_RefusedString_ThrowsNamingTheRuleWithoutThePassword()
    {
        // Arrange
        var options = Options("Data Source=db;Password=Zq7-Hunter2;Pooling=false;Max Pool Size=40000");

        // Act
        var ex = Assert.Throws<InvalidOperationException>(() => SqlConnectionStringNormalizer.Normalize(options));

        // Assert
        Assert.StartsWith("SafeSql refused the connection string: SAFESQL004: Pooling=false turns connection pooling off.", ex.Message, StringComparison.Ordinal);
        Assert.Contains(" SAFESQL009: Max Pool Size=40000 is above the limit of 1000", ex.Message, StringComparison.Ordinal);
        Assert.True(!ex.Message.Contains("Zq7-Hunter2", StringComparison.Ordinal), "The message contains the password (not shown).");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("  ")]
    public void Normalize_NoConnectionString_ThrowsInvalidOperationException(string? connectionString)
    {
        // Arrange
        var options = new SafeSqlOptions { ConnectionString = connectionString };

        // Act
        var ex = Assert.Throws<InvalidOperationException>(() => SqlConnectionStringNormalizer.Normalize(options));

        // Assert
        Assert.Equal(
            """SafeSqlOptions.ConnectionString is not set. Pass the connection string to AddSafeSql or set SafeSqlOptions.ConnectionString.""",
            ex.Message);
    }

    [Fact]
    public void Validate_NormalizedString_IsTheSameAsTheFactorysNormalizer()
    {
        // Arrange
        var options = Options("Server=db;Database=Orders");

        // Act
        var standalone = SqlConnectionStringPolicy.Validate(options.ConnectionString!, options.ConnectionStringPolicy);

        // Assert
        Assert.Equal(SqlConnectionStringNormalizer.Normalize(options), standalone.NormalizedConnectionString);
    }

    private static SafeSqlOptions Options(string connectionString) => new()
    {
        ConnectionString = connectionString,
        ConnectionStringPolicy = new SqlConnectionStringPolicyOptions { ApplicationName = "OrdersApi" },
    };
}

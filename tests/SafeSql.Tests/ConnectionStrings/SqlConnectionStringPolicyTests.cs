using SafeSql.ConnectionStrings;
using SafeSql.Tests.TestUtilities;

namespace SafeSql.Tests.ConnectionStrings;

public sealed partial class SqlConnectionStringPolicyTests
{
    private const string Server = "Data Source=tcp:db.example.com,1433;User ID=app;Password=\"S3cret-Pa55\";Initial Catalog=Orders";

    private static readonly SqlConnectionStringPolicyOptions s_named = new() { ApplicationName = "OrdersApi" };


    [Fact]
    public void Validate_NullConnectionString_ThrowsArgumentNullException()
    {
        // Act
        var ex = Assert.Throws<ArgumentNullException>(() => SqlConnectionStringPolicy.Validate(null!));

        // Assert
        Assert.Equal("connectionString", ex.ParamName);
    }

    [Fact]
    public void Validate_ThresholdOutOfRange_ThrowsArgumentExceptionNamingTheOption()
    {
        // Arrange
        var options = new SqlConnectionStringPolicyOptions { MaxPoolSizeLimit = 0 };

        // Act
        var ex = Assert.Throws<ArgumentException>(() => SqlConnectionStringPolicy.Validate(Server, options));

        // Assert
        Assert.Equal("options", ex.ParamName);
        Assert.Equal(
            """SqlConnectionStringPolicyOptions.MaxPoolSizeLimit is 0; it must be between 1 and 32767 (connections). (Parameter 'options')""",
            ex.Message);
    }

    [Fact]
    public void Validate_GoodConnectionString_IsAcceptedWithoutFindings()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Max Pool Size=200;Connect Timeout=30", s_named);

        // Assert
        Assert.True(result.IsAccepted);
        Assert.Empty(result.Findings);
        Assert.Equal("Accepted: no findings.", result.ToString());
        Assert.Equal(
            "Data Source=tcp:db.example.com,1433;Initial Catalog=Orders;User ID=app;Password=S3cret-Pa55;Max Pool Size=200;Connect Timeout=30;Application Name=OrdersApi",
            result.NormalizedConnectionString);
    }

    [Fact]
    public void Validate_PoolingFalse_RefusedBySafeSql004()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Pooling=false");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL004", "Pooling", "false");
        Assert.Same(SqlConnectionStringRules.PoolingDisabled, finding.Rule);
        Assert.Equal(
            """SAFESQL004: Pooling=false turns connection pooling off. Without pooling every Open makes a new TCP connection and login, and every Close leaves a local port in TIME_WAIT (60 s on Linux, 120 s on Windows (TcpTimedWaitDelay; 240 s before Windows Server 2003)), so a busy application runs out of ephemeral ports and fails with network errors. Turning pooling off is the usual workaround for pool timeouts, but the connection leak behind them remains: SafeSql reports leaked connections instead. Fix: Remove Pooling=false (pooling is on by default) and dispose every connection (await using) so it returns to the pool. For a process that really must not pool, set SqlConnectionStringPolicyOptions.AllowPoolingDisabled to true. Source: https://learn.microsoft.com/sql/connect/ado-net/sql-server-connection-pooling""",
            finding.Message);
        Assert.Null(result.NormalizedConnectionString);
        Assert.Equal("Refused: SAFESQL004 (1 error, 0 warnings).", result.ToString());
    }

    [Theory]
    [InlineData("Pooling=no", "Pooling=no")]
    [InlineData("POOLING=False", "Pooling=False")]
    public void Validate_PoolingFalseSpelledDifferently_RefusedShowingTheStringsOwnSpelling(string keyword, string shown)
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";" + keyword);

        // Assert
        var finding = Assert.Single(result.Findings);
        Assert.Equal("SAFESQL004", finding.RuleId);
        Assert.StartsWith($"SAFESQL004: {shown} turns connection pooling off.", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PoolingFalseAllowed_AcceptedWithWarning()
    {
        // Arrange
        var options = new SqlConnectionStringPolicyOptions { AllowPoolingDisabled = true, ApplicationName = "OrdersApi" };

        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Pooling=false", options);

        // Assert
        Assert.True(result.IsAccepted);
        var finding = Assert.Single(result.Warnings);
        Assert.Equal(SqlConnectionStringFindingSeverity.Warning, finding.Severity);
        Assert.Equal(
            """SAFESQL004: Pooling=false turns connection pooling off (allowed by SqlConnectionStringPolicyOptions.AllowPoolingDisabled, so this is a warning). Without pooling every Open makes a new TCP connection and login, and every Close leaves a local port in TIME_WAIT (60 s on Linux, 120 s on Windows (TcpTimedWaitDelay; 240 s before Windows Server 2003)), so a busy application runs out of ephemeral ports and fails with network errors. Turning pooling off is the usual workaround for pool timeouts, but the connection leak behind them remains: SafeSql reports leaked connections instead. Fix: Remove Pooling=false as soon as this process no longer needs it (pooling is on by default) and dispose every connection. Source: https://learn.microsoft.com/sql/connect/ado-net/sql-server-connection-pooling""",
            finding.Message);
        Assert.Equal(
            "Data Source=tcp:db.example.com,1433;Initial Catalog=Orders;User ID=app;Password=S3cret-Pa55;Pooling=False;Application Name=OrdersApi",
            result.NormalizedConnectionString);
        Assert.Equal("Accepted: SAFESQL004 (0 errors, 1 warning).", result.ToString());
    }

    [Fact]
    public void Validate_ConnectionLifetime_RefusedBySafeSql005()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Connection Lifetime=1");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL005", "Load Balance Timeout", "1");
        Assert.Equal(
            """SAFESQL005: Connection Lifetime=1 (Load Balance Timeout) makes the pool destroy every connection that is returned more than 1 s after it was opened. The pool then keeps reopening TCP connections and logins (each one closed leaves a port in TIME_WAIT): a workaround for leaked or stale connections that costs ports and hides the cause. SqlClient documents it only for clusters, to move load to a server just brought online. Fix: Remove Connection Lifetime. Behind a load-balanced cluster that needs it, set SqlConnectionStringPolicyOptions.AllowConnectionLifetime to true and use at least 60 s. Source: https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnectionstringbuilder.loadbalancetimeout ("useful in clustered configurations to force load balancing between a running server and a server just brought online")""",
            finding.Message);
    }

    [Fact]
    public void Validate_LoadBalanceTimeout_RefusedBySafeSql005()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Load Balance Timeout=300");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL005", "Load Balance Timeout", "300");
        Assert.StartsWith(
            """SAFESQL005: Load Balance Timeout=300 makes the pool destroy every connection that is returned more than 300 s after it was opened.""",
            finding.Message,
            StringComparison.Ordinal);
        Assert.Contains("Fix: Remove Load Balance Timeout. Behind a load-balanced cluster", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ConnectionLifetimeAllowedForCluster_Accepted()
    {
        // Arrange
        var options = new SqlConnectionStringPolicyOptions { AllowConnectionLifetime = true, ApplicationName = "OrdersApi" };

        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Connection Lifetime=300", options);

        // Assert
        Assert.True(result.IsAccepted);
        Assert.Empty(result.Findings);
        Assert.Equal(
            "Data Source=tcp:db.example.com,1433;Initial Catalog=Orders;User ID=app;Password=S3cret-Pa55;Load Balance Timeout=300;Application Name=OrdersApi",
            result.NormalizedConnectionString);
    }

    [Fact]
    public void Validate_ConnectionLifetimeAllowedButShort_RefusedBySafeSql006()
    {
        // Arrange
        var options = new SqlConnectionStringPolicyOptions { AllowConnectionLifetime = true };

        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Connection Lifetime=1", options);

        // Assert
        var finding = AssertSingleError(result, "SAFESQL006", "Load Balance Timeout", "1");
        Assert.Equal(
            """SAFESQL006: Connection Lifetime=1 (Load Balance Timeout) is below the minimum of 60 s (SqlConnectionStringPolicyOptions.MinConnectionLifetime), although AllowConnectionLifetime is set. A lifetime shorter than TIME_WAIT (60 s on Linux) piles up closed ports faster than they expire: with Max Pool Size=100 the pool may reconnect up to 100 times a second, close to running without a pool. Fix: Set Connection Lifetime to at least 60 (seconds), for example 300, or lower SqlConnectionStringPolicyOptions.MinConnectionLifetime if the cluster really needs faster rebalancing. Source: https://learn.microsoft.com/troubleshoot/windows-client/networking/tcp-ip-port-exhaustion-troubleshooting (TIME_WAIT: 60 s on Linux, 120 s on Windows (TcpTimedWaitDelay; 240 s before Windows Server 2003))""",
            finding.Message);
    }

    [Theory]
    [InlineData(59, false)]
    [InlineData(60, true)]
    public void Validate_ConnectionLifetimeAtMinimum_AcceptedFromTheMinimumOn(int seconds, bool accepted)
    {
        // Arrange
        var options = new SqlConnectionStringPolicyOptions { AllowConnectionLifetime = true };

        // Act
        var result = SqlConnectionStringPolicy.Validate($"{Server};Connection Lifetime={seconds}", options);

        // Assert
        Assert.Equal(accepted, result.IsAccepted);
    }

    [Fact]
    public void Validate_ConnectTimeoutZero_RefusedBySafeSql007()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Connect Timeout=0");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL007", "Connect Timeout", "0");
        Assert.Equal(
            """SAFESQL007: Connect Timeout=0 means wait forever. An unreachable server then hangs every Open, and because SqlClient also waits up to Connect Timeout for a free pooled connection, an exhausted pool (usually a connection leak) hangs every request instead of failing with an error that names the cause. Fix: Remove Connect Timeout (SqlClient's default is 15 s) or set it between 1 and 120 seconds. Source: https://learn.microsoft.com/dotnet/api/system.data.idbconnection.connectiontimeout ("A value of 0 indicates no limit to the wait time ... and should be avoided in a ConnectionString")""",
            finding.Message);
    }

    [Fact]
    public void Validate_ConnectTimeoutFarAboveDefault_RefusedBySafeSql008()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Connect Timeout=40000");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL008", "Connect Timeout", "40000");
        Assert.Equal(
            """SAFESQL008: Connect Timeout=40000 (11.1 hours) is above the limit of 120 s (SqlClient's default is 15 s). SqlClient also waits up to Connect Timeout for a free pooled connection, so a connection leak or an unreachable server makes requests hang for up to 11.1 hours instead of failing with an error that names the cause. Fix: Remove Connect Timeout or set it to at most 120 (SafeSql retries transient open failures for you). If a longer wait is truly needed, raise SqlConnectionStringPolicyOptions.ConnectTimeoutLimit. Source: https://learn.microsoft.com/sql/connect/ado-net/sql-server-connection-pooling (a request for a pooled connection waits up to Connect Timeout)""",
            finding.Message);
    }

    [Theory]
    [InlineData("Connect Timeout=120", true)]
    [InlineData("Connect Timeout=121", false)]
    [InlineData("Timeout=121", false)]
    [InlineData("Connection Timeout=1", true)]
    public void Validate_ConnectTimeoutAroundTheLimit_AcceptedUpToTheLimit(string keyword, bool accepted)
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";" + keyword);

        // Assert
        Assert.Equal(accepted, result.IsAccepted);
    }

    [Fact]
    public void Validate_ConnectTimeoutLimitRaised_AcceptsLongerTimeout()
    {
        // Arrange
        var options = new SqlConnectionStringPolicyOptions { ConnectTimeoutLimit = TimeSpan.FromMinutes(5) };

        // Act
        var accepted = SqlConnectionStringPolicy.Validate(Server + ";Connect Timeout=300", options);
        var refused = SqlConnectionStringPolicy.Validate(Server + ";Connect Timeout=301", options);

        // Assert
        Assert.True(accepted.IsAccepted);
        Assert.Contains("is above the limit of 300 s", Assert.Single(refused.Findings).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MaxPoolSizeFarAboveDefault_RefusedBySafeSql009()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Max Pool Size=40000");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL009", "Max Pool Size", "40000");
        Assert.Equal(
            """SAFESQL009: Max Pool Size=40000 is above the limit of 1000 (SqlClient's default is 100). Raising Max Pool Size does not fix pool timeouts caused by leaked connections, it only delays them until up to 40000 sessions pile up on the server, each costing server memory and a worker (SQL Server allows at most 32,767 user connections for all clients together). SafeSql reports leaked connections with the code that opened them instead. Fix: Remove Max Pool Size (or set it to at most 1000) and dispose every connection. If one process truly needs more concurrent connections, raise SqlConnectionStringPolicyOptions.MaxPoolSizeLimit. Source: https://learn.microsoft.com/sql/connect/ado-net/sql-server-connection-pooling and https://learn.microsoft.com/sql/database-engine/configure-windows/configure-the-user-connections-server-configuration-option""",
            finding.Message);
    }

    [Theory]
    [InlineData(1000, true)]
    [InlineData(1001, false)]
    public void Validate_MaxPoolSizeAroundTheLimit_AcceptedUpToTheLimit(int maxPoolSize, bool accepted)
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate($"{Server};Max Pool Size={maxPoolSize}");

        // Assert
        Assert.Equal(accepted, result.IsAccepted);
    }

    [Fact]
    public void Validate_MaxPoolSizeLimitRaised_AcceptsLargerPool()
    {
        // Arrange
        var options = new SqlConnectionStringPolicyOptions { MaxPoolSizeLimit = 5000 };

        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Max Pool Size=5000", options);

        // Assert
        Assert.True(result.IsAccepted);
    }

    [Fact]
    public void Validate_LimitsBelowSqlClientDefaults_DoNotRefuseTheDefaults()
    {
        // Arrange: thresholds judge values written in the string; SqlClient's defaults (100, 15 s) are never refused.
        var options = new SqlConnectionStringPolicyOptions { MaxPoolSizeLimit = 50, ConnectTimeoutLimit = TimeSpan.FromSeconds(10) };

        // Act
        var result = SqlConnectionStringPolicy.Validate(Server, options);

        // Assert
        Assert.True(result.IsAccepted);
    }

    [Fact]
    public void Validate_MinPoolSizeAboveDefaultMaxPoolSize_RefusedBySafeSql010()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Min Pool Size=200");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL010", "Min Pool Size", "200");
        Assert.Equal(
            """SAFESQL010: Min Pool Size=200 is greater than Max Pool Size=100 (SqlClient's default). SqlClient refuses such a connection string when the first connection is created, so the application would fail on its first query instead of at startup. Fix: Lower Min Pool Size to at most 100, or remove it (SqlClient's default is 0). Source: SqlClient error "Invalid min or max pool size values, min pool size cannot be greater than the max pool size." (https://learn.microsoft.com/sql/connect/ado-net/sql-server-connection-pooling)""",
            finding.Message);
    }

    [Fact]
    public void Validate_MinPoolSizeAboveMaxPoolSize_RefusedBySafeSql010()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Min Pool Size=50;Max Pool Size=10");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL010", "Min Pool Size", "50");
        Assert.StartsWith(
            """SAFESQL010: Min Pool Size=50 is greater than Max Pool Size=10. SqlClient refuses such a connection string""",
            finding.Message,
            StringComparison.Ordinal);
        Assert.Contains("Fix: Lower Min Pool Size to at most 10, or remove it", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownKeyword_RefusedBySafeSql002WithSuggestion()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Max Pool Sise=10");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL002", null, null);
        Assert.Equal(
            $"""SAFESQL002: Keyword 'Max Pool Sise' is not supported by Microsoft.Data.SqlClient {SqlClientVersion.Current}. Did you mean 'Max Pool Size'? SqlClient refuses the whole connection string ("Keyword not supported") at the first Open, so the application would fail on its first query instead of at startup. Fix: Correct or remove the keyword. A keyword added in a newer SqlClient needs the application to reference that version. Source: https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnection.connectionstring (SqlClient: "Keyword not supported")""",
            finding.Message);
    }

    [Theory]
    [InlineData("MaxPoolSize=10", "Did you mean 'Max Pool Size'?")]
    [InlineData("Trust Server Certficate=true", "Did you mean 'Trust Server Certificate'?")]
    [InlineData("Frobnicate=1", "is not supported by Microsoft.Data.SqlClient {version}. SqlClient refuses")]
    public void Validate_UnknownKeyword_SuggestsOnlyANearKeyword(string entry, string expected)
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";" + entry);

        // Assert
        var finding = AssertSingleError(result, "SAFESQL002", null, null);
        Assert.Contains(expected.Replace("{version}", SqlClientVersion.Current, StringComparison.Ordinal), finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_InvalidValue_RefusedBySafeSql003()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Max Pool Size=abc");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL003", "Max Pool Size", "abc");
        Assert.Equal(
            """SAFESQL003: Max Pool Size=abc is not a valid value: SqlClient expects a whole number within the keyword's documented range. SqlClient refuses the whole connection string at the first Open, so the application would fail on its first query instead of at startup. Fix: Set Max Pool Size to a valid value, or remove it to use SqlClient's default (100). Source: https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnection.connectionstring (SqlClient: "Invalid value for key")""",
            finding.Message);
    }

    [Theory]
    [InlineData("Pooling=maybe", "Pooling=maybe is not a valid value: SqlClient expects true or false (yes and no also work).")]
    [InlineData("Max Pool Size=0", "Max Pool Size=0 is not a valid value: SqlClient expects a whole number within the keyword's documented range.")]
    [InlineData("Timeout=-1", "Timeout=-1 (Connect Timeout) is not a valid value: SqlClient expects a whole number within the keyword's documented range.")]
    [InlineData("ApplicationIntent=Sometimes", "ApplicationIntent=Sometimes (Application Intent) is not a valid value: SqlClient expects one of the values listed in SqlClient's keyword documentation.")]
    public void Validate_InvalidValues_RefusedBySafeSql003NamingKeywordAndValue(string entry, string description)
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";" + entry);

        // Assert
        var finding = Assert.Single(result.Findings);
        Assert.Equal("SAFESQL003", finding.RuleId);
        Assert.Equal(description, finding.Description);
    }

    [Fact]
    public void Validate_ApplicationNameLongerThanSqlServerAccepts_RefusedBySafeSql003()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Application Name=" + new string('x', 129));

        // Assert
        var finding = AssertSingleError(result, "SAFESQL003", "Application Name", null);
        Assert.Equal("Application Name is 129 characters long, above SQL Server's limit of 128.", finding.Description);
    }

    [Fact]
    public void Validate_KeywordCombinationSqlClientRefuses_RefusedBySafeSql003NamingTheKeywords()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Authentication=Active Directory Password;Integrated Security=true");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL003", null, null);
        Assert.Equal(
            """SAFESQL003: SqlClient refuses this combination of keywords (Integrated Security, User ID, Password, Authentication). Its message is not shown: it could quote part of the connection string. No connection can be opened with it. Fix: Correct how these keywords go together: for example, Authentication cannot be combined with Integrated Security, and the Active Directory methods that sign in without a password (Integrated, Interactive, Device Code Flow, Managed Identity) take no Password (see the SqlClient keyword list at the source). Source: https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnection.connectionstring (SqlClient: "Invalid value for key")""",
            finding.Message);
    }

    [Theory]
    [InlineData("Password")]
    [InlineData("Pwd")]
    public void Validate_PasswordWithPasswordlessAuthentication_RefusedBySafeSql003WithoutSqlClientsMessage(string keyword)
    {
        // Act: SqlClient refuses a password with Active Directory Integrated; its message is SqlClient's, not SafeSql's.
        var result = SqlConnectionStringPolicy.Validate($"Data Source=tcp:db.example.com,1433;Authentication=Active Directory Integrated;{keyword}=\"Integrated'Pa55\"");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL003", null, null);
        Assert.Equal(
            """SAFESQL003: SqlClient refuses this combination of keywords (Password, Authentication). Its message is not shown: it could quote part of the connection string. No connection can be opened with it. Fix: Correct how these keywords go together: for example, Authentication cannot be combined with Integrated Security, and the Active Directory methods that sign in without a password (Integrated, Interactive, Device Code Flow, Managed Identity) take no Password (see the SqlClient keyword list at the source). Source: https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnection.connectionstring (SqlClient: "Invalid value for key")""",
            finding.Message);
        Assert.False(finding.Message.Contains("Pa55", StringComparison.Ordinal), "The finding quotes the password.");
        Assert.False(finding.Message.Contains("Cannot use", StringComparison.Ordinal), "The finding passes SqlClient's message through.");
    }

    [Fact]
    public void Validate_MalformedString_RefusedBySafeSql001WithoutThrowing()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate("Data Source=db;Password=ab;cd");

        // Assert
        var finding = AssertSingleError(result, "SAFESQL001", null, null);
        Assert.Equal(
            """SAFESQL001: The connection string is malformed. SqlClient's parser stops after character 27 of 29. No connection can be opened with it. (SafeSql does not quote the text, because it may contain a password.) Fix: Write it as keyword=value pairs separated by ';'. Enclose a value that contains ';', a single quote or a double quote in double quotes (Password="a;b"), doubling any double quote inside it. Source: https://learn.microsoft.com/dotnet/framework/data/adonet/connection-string-syntax (SqlClient: "Format of the initialization string does not conform to specification")""",
            finding.Message);
    }

    [Theory]
    [InlineData("=x")]
    [InlineData("Data Source=db;Password='unterminated")]
    [InlineData("Data Source=db;Password=\"unterminated")]
    [InlineData("just some text")]
    public void Validate_MalformedStrings_RefusedBySafeSql001(string connectionString)
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(connectionString);

        // Assert
        var finding = AssertSingleError(result, "SAFESQL001", null, null);
        Assert.StartsWith("SAFESQL001: The connection string is malformed. SqlClient's parser stops after character ", finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Initial Catalog=Orders;User ID=app")]
    public void Validate_NoDataSource_RefusedBySafeSql011(string connectionString)
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(connectionString);

        // Assert
        var finding = AssertSingleError(result, "SAFESQL011", "Data Source", null);
        Assert.Equal(
            """SAFESQL011: The connection string has no Data Source (also spelled Server or Address). SqlClient cannot know which server to connect to, so the first Open would fail. This usually means a configuration value was not found. Fix: Set Data Source to the server, for example Data Source=tcp:sql.example.com,1433. Source: https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnection.connectionstring""",
            finding.Message);
    }

    [Fact]
    public void Validate_SettingGivenTwiceUnderTwoSpellings_AcceptedWithSafeSql012Warning()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(Server + ";Timeout=20;Connect Timeout=30", s_named);

        // Assert
        Assert.True(result.IsAccepted);
        var finding = Assert.Single(result.Findings);
        Assert.Equal(SqlConnectionStringFindingSeverity.Warning, finding.Severity);
        Assert.Equal("30", finding.CurrentValue);
        Assert.Equal(
            """SAFESQL012: Connect Timeout is given twice, as Timeout and as Connect Timeout. SqlClient uses the last one (30). Two spellings of one setting make the value in effect easy to misread, and an edit to the first one silently does nothing. Fix: Keep one of them. Source: https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnection.connectionstring (synonyms of one keyword, the last value wins)""",
            finding.Message);
        Assert.EndsWith(";Connect Timeout=30;Application Name=OrdersApi", result.NormalizedConnectionString, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SeveralProblems_ReportsEveryOneInRuleIdOrder()
    {
        // Act
        var result = SqlConnectionStringPolicy.Validate(
            "Server=db;Max Pool Size=40000;Pooling=false;Connect Timeout=0;Bogus=1;Connection Lifetime=5;Timeout=0");

        // Assert
        Assert.False(result.IsAccepted);
        Assert.Equal(
            ["SAFESQL002", "SAFESQL004", "SAFESQL005", "SAFESQL007", "SAFESQL009", "SAFESQL012"],
            result.Findings.Select(f => f.RuleId));
        Assert.Equal("Refused: SAFESQL002, SAFESQL004, SAFESQL005, SAFESQL007, SAFESQL009, SAFESQL012 (5 errors, 1 warning).", result.ToString());
    }

    [Fact]
    public void Validate_FindingParts_ComposeTheMessage()
    {
        // Act
        var finding = Assert.Single(SqlConnectionStringPolicy.Validate(Server + ";Max Pool Size=40000").Findings);

        // Assert
        Assert.Equal($"SAFESQL009: {finding.Description} {finding.Reason} Fix: {finding.Fix} Source: {finding.Source}", finding.Message);
        Assert.Equal(finding.Message, finding.ToString());
        Assert.Equal("Max Pool Size=40000 is above the limit of 1000 (SqlClient's default is 100).", finding.Description);
    }

    private static SqlConnectionStringFinding AssertSingleError(SqlConnectionStringPolicyResult result, string ruleId, string? keyword, string? currentValue)
    {
        Assert.False(result.IsAccepted);
        Assert.Null(result.NormalizedConnectionString);
        var finding = Assert.Single(result.Findings);
        Assert.Equal(ruleId, finding.RuleId);
        Assert.Equal(SqlConnectionStringFindingSeverity.Error, finding.Severity);
        Assert.Equal(keyword, finding.Keyword);
        Assert.Equal(currentValue, finding.CurrentValue);
        Assert.Same(finding, Assert.Single(result.Errors));
        Assert.Empty(result.Warnings);
        return finding;
    }
}

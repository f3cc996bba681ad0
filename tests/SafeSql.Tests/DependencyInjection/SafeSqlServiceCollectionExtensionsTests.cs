using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

using SafeSql.ConnectionStrings;
using SafeSql.Diagnostics;
using SafeSql.Tests.ConnectionStrings;

namespace SafeSql.Tests.DependencyInjection;

public sealed partial class SafeSqlServiceCollectionExtensionsTests
{
    internal const string GoodConnectionString = "Server=tcp:127.0.0.1,1433;Database=Orders;UID=app;Pwd=Zq7-Hunter2;Max Pool Size=200";

    internal const string GoodNormalized =
        "Data Source=tcp:127.0.0.1,1433;Initial Catalog=Orders;User ID=app;Password=Zq7-Hunter2;Max Pool Size=200;Application Name=OrdersApi";

    [Fact]
    public void AddSafeSql_ArgValidation_ThrowsNamingTheParameter()
    {
        // Arrange
        var services = new ServiceCollection();
        IServiceCollection nullServices = null!;
        var configuration = new ConfigurationBuilder().Build();

        // Act / Assert
        Assert.Equal("services", Assert.Throws<ArgumentNullException>(() => nullServices.AddSafeSql(GoodConnectionString)).ParamName);
        Assert.Equal("services", Assert.Throws<ArgumentNullException>(() => nullServices.AddSafeSql(_ => { })).ParamName);
        Assert.Equal("services", Assert.Throws<ArgumentNullException>(() => nullServices.AddSafeSql((_, _) => { })).ParamName);
        Assert.Equal("services", Assert.Throws<ArgumentNullException>(() => nullServices.AddSafeSql(configuration)).ParamName);
        Assert.Equal("connectionString", Assert.Throws<ArgumentNullException>(() => services.AddSafeSql((string)null!)).ParamName);
        Assert.Equal("connectionString", Assert.Throws<ArgumentException>(() => services.AddSafeSql("")).ParamName);
        Assert.Equal("connectionString", Assert.Throws<ArgumentException>(() => services.AddSafeSql("  ")).ParamName);
        Assert.Equal("configure", Assert.Throws<ArgumentNullException>(() => services.AddSafeSql((Action<SafeSqlOptions>)null!)).ParamName);
        Assert.Equal("configure", Assert.Throws<ArgumentNullException>(() => services.AddSafeSql((Action<SafeSqlOptions, IServiceProvider>)null!)).ParamName);
        Assert.Equal("configuration", Assert.Throws<ArgumentNullException>(() => services.AddSafeSql((IConfiguration)null!)).ParamName);
        Assert.Empty(services);
    }

    [Fact]
    public void AddSafeSql_DefaultInstance_RegistersTheFactoryContract()
    {
        // Arrange
        var services = new ServiceCollection();

        // Act
        var builder = services.AddSafeSql(GoodConnectionString);

        // Assert
        Assert.Equal(Options.DefaultName, builder.Name);
        Assert.Same(services, builder.Services);
        AssertRegistered(services, typeof(SafeSqlDataSource), Options.DefaultName, ServiceLifetime.Singleton);
        AssertRegistered(services, typeof(ISqlConnectionFactory), Options.DefaultName, ServiceLifetime.Scoped);
        AssertRegistered(services, typeof(ISqlConnectionFactory), null, ServiceLifetime.Scoped);
        AssertRegistered(services, typeof(SafeSqlMetrics), null, ServiceLifetime.Singleton);
        var validators = services.Where(d => d.ServiceType == typeof(IValidateOptions<SafeSqlOptions>)).Select(d => d.ImplementationType).ToArray();
        Assert.Equal([typeof(SafeSqlOptionsValidator), typeof(SafeSqlOptionsCustomValidator)], validators);
    }

    [Fact]
    public void AddSafeSql_NamedInstances_RegisterKeyedServicesOnly()
    {
        // Arrange
        var services = new ServiceCollection();

        // Act
        var orders = services.AddSafeSql(GoodConnectionString, "orders");
        var billing = services.AddSafeSql(o => o.ConnectionString = "Server=billing-db", "billing");

        // Assert
        Assert.Equal("orders", orders.Name);
        Assert.Equal("billing", billing.Name);
        foreach (var name in new[] { "orders", "billing" })
        {
            AssertRegistered(services, typeof(SafeSqlDataSource), name, ServiceLifetime.Singleton);
            AssertRegistered(services, typeof(ISqlConnectionFactory), name, ServiceLifetime.Scoped);
        }

        Assert.DoesNotContain(services, d => d.ServiceType == typeof(ISqlConnectionFactory) && !d.IsKeyedService);
    }

    [Fact]
    public void AddSafeSql_CalledTwice_RegistersEachServiceOnceAndTheLastConnectionStringWins()
    {
        // Arrange
        var services = new ServiceCollection();
        services.AddSafeSql("Server=first-db");
        var countAfterFirst = services.Count(IsNotAConfigureAction);

        // Act
        services.AddSafeSql("Server=second-db");

        // Assert
        Assert.Equal(countAfterFirst, services.Count(IsNotAConfigureAction));
        Assert.Single(services, d => d.ServiceType == typeof(SafeSqlDataSource) && d.IsKeyedService);
        Assert.Single(services, d => d.ServiceType == typeof(SafeSqlDataSource) && !d.IsKeyedService);
        Assert.Single(services, d => d.ServiceType == typeof(System.Data.Common.DbDataSource) && !d.IsKeyedService);
        Assert.Single(services, d => d.ServiceType == typeof(IValidateOptions<SafeSqlOptions>) && d.ImplementationType == typeof(SafeSqlOptionsCustomValidator));
        using var provider = services.BuildServiceProvider();
        Assert.Equal("Server=second-db", provider.GetRequiredService<IOptionsMonitor<SafeSqlOptions>>().Get(Options.DefaultName).ConnectionString);
    }

    [Fact]
    public async Task AddSafeSql_PoolingFalse_HostFailsToStartNamingTheRuleAndTheFix()
    {
        // Arrange
        var logs = new FakeLogCollector();
        using var host = BuildHost(logs, services => services.AddSafeSql("Server=tcp:127.0.0.1,1433;User ID=app;Password=Zq7-Hunter2;Pooling=false"));

        // Act
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        // Assert
        Assert.Equal(
            """SafeSqlOptions.ConnectionString refused. SAFESQL004: Pooling=false turns connection pooling off. Without pooling every Open makes a new TCP connection and login, and every Close leaves a local port in TIME_WAIT (60 s on Linux, 120 s on Windows (TcpTimedWaitDelay; 240 s before Windows Server 2003)), so a busy application runs out of ephemeral ports and fails with network errors. Turning pooling off is the usual workaround for pool timeouts, but the connection leak behind them remains: SafeSql reports leaked connections instead. Fix: Remove Pooling=false (pooling is on by default) and dispose every connection (await using) so it returns to the pool. For a process that really must not pool, set SqlConnectionStringPolicyOptions.AllowPoolingDisabled to true. Source: https://learn.microsoft.com/sql/connect/ado-net/sql-server-connection-pooling""",
            ex.Message);
        Assert.Equal(Options.DefaultName, ex.OptionsName);
        Assert.Equal(typeof(SafeSqlOptions), ex.OptionsType);
        var refused = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.ConnectionStringRefused);
        Assert.Equal(LogLevel.Error, refused.Level);
        Assert.Equal("ConnectionStringRefused", refused.Id.Name);
        Assert.StartsWith("SafeSql instance '(default)': connection string refused by SAFESQL004. SAFESQL004: Pooling=false turns connection pooling off.", refused.Message, StringComparison.Ordinal);
        AssertNoPasswordIn(logs, ex);
    }

    [Fact]
    public async Task AddSafeSql_NamedInstanceWithSeveralProblems_FailureNamesTheInstanceAndEveryRule()
    {
        // Arrange
        var logs = new FakeLogCollector();
        using var host = BuildHost(logs, services =>
        {
            services.AddSafeSql(GoodConnectionString);
            services.AddSafeSql("Server=tcp:127.0.0.1,1433;Pwd=Zq7-Hunter2;Connect Timeout=40000;Max Pool Size=40000", "orders");
        });

        // Act
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        // Assert
        Assert.Equal("orders", ex.OptionsName);
        Assert.Equal(2, ex.Failures.Count());
        Assert.StartsWith(
            """SafeSqlOptions.ConnectionString of 'orders' refused. SAFESQL008: Connect Timeout=40000 (11.1 hours) is above the limit of 120 s (SqlClient's default is 15 s).""",
            ex.Failures.First(),
            StringComparison.Ordinal);
        Assert.StartsWith(
            """SafeSqlOptions.ConnectionString of 'orders' refused. SAFESQL009: Max Pool Size=40000 is above the limit of 1000 (SqlClient's default is 100).""",
            ex.Failures.Last(),
            StringComparison.Ordinal);
        Assert.Equal(string.Join("; ", ex.Failures), ex.Message);
        AssertNoPasswordIn(logs, ex);
    }

    [Theory]
    [InlineData(null, "SafeSqlOptions.ConnectionString")]
    [InlineData("orders", "orders.ConnectionString")]
    public async Task AddSafeSql_NoConnectionString_HostFailsSayingHowToSetIt(string? name, string member)
    {
        // Arrange
        using var host = BuildHost(new FakeLogCollector(), services => services.AddSafeSql(_ => { }, name));

        // Act
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        // Assert
        Assert.Equal(
            $"""ConnectionString: {member} is not set. Pass the connection string to AddSafeSql, or bind it from configuration (the key "ConnectionString" of the section given to AddSafeSql).""",
            ex.Message);
    }

    [Fact]
    public async Task AddSafeSql_ThresholdOutOfRange_HostFailsFromTheNestedOptionsAttributes()
    {
        // Arrange
        using var host = BuildHost(new FakeLogCollector(), services => services
            .AddSafeSql(GoodConnectionString)
            .ConfigureConnectionStringPolicy(policy =>
            {
                policy.MaxPoolSizeLimit = 0;
                policy.ConnectTimeoutLimit = TimeSpan.Zero;
            }));

        // Act
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        // Assert
        Assert.Equal(
            """MaxPoolSizeLimit: The field SafeSqlOptions.ConnectionStringPolicy.MaxPoolSizeLimit must be between 1 and 32767.; ConnectTimeoutLimit: The field SafeSqlOptions.ConnectionStringPolicy.ConnectTimeoutLimit must be between 00:00:01 and 1.00:00:00.""",
            ex.Message);
    }

    [Fact]
    public async Task AddSafeSql_GoodConnectionString_HostStartsAndTheFactoryUsesTheNormalizedString()
    {
        // Arrange
        var logs = new FakeLogCollector();
        using var host = BuildHost(logs, services => services
            .AddSafeSql(GoodConnectionString)
            .ConfigureConnectionStringPolicy(policy => policy.ApplicationName = "OrdersApi"));

        // Act
        await host.StartAsync();

        // Assert
        var factory = host.Services.GetRequiredKeyedService<SafeSqlDataSource>(Options.DefaultName);
        Assert.Same(factory, host.Services.GetRequiredKeyedService<SafeSqlDataSource>(Options.DefaultName));
        Assert.Equal(Options.DefaultName, factory.Name);
        AssertConnectionStringEqual(GoodConnectionString, factory.Options.ConnectionString);
        AssertConnectionStringEqual(GoodNormalized, SqlConnectionStringNormalizer.Normalize(factory.Options));
        var accepted = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.ConnectionStringAccepted);
        Assert.Equal(LogLevel.Debug, accepted.Level);
        Assert.Equal("SafeSql instance '(default)': connection string to Data Source 'tcp:127.0.0.1,1433', Initial Catalog 'Orders' accepted and normalized.", accepted.Message);
        AssertNoPasswordIn(logs, null);
        await host.StopAsync();
    }

    [Fact]
    public async Task AddSafeSql_ConfigureWithServiceProvider_ReadsOtherServices()
    {
        // Arrange
        using var host = BuildHost(new FakeLogCollector(), services =>
        {
            services.AddSingleton(new ConnectionStringSource(GoodConnectionString));
            services.AddSafeSql((options, provider) => options.ConnectionString = provider.GetRequiredService<ConnectionStringSource>().Value, "orders");
        });

        // Act
        await host.StartAsync();

        // Assert
        var factory = host.Services.GetRequiredKeyedService<SafeSqlDataSource>("orders");
        Assert.Equal("orders", factory.Name);
        AssertConnectionStringEqual(GoodConnectionString, factory.Options.ConnectionString);
        await host.StopAsync();
    }

    [Fact]
    public async Task AddSafeSql_ConfigurationSection_BindsConnectionStringAndPolicy()
    {
        // Arrange
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SafeSql:Orders:ConnectionString"] = "Server=tcp:127.0.0.1,1433;Pwd=Zq7-Hunter2;Max Pool Size=2000",
            ["SafeSql:Orders:ConnectionStringPolicy:MaxPoolSizeLimit"] = "2000",
            ["SafeSql:Orders:ConnectionStringPolicy:ApplicationName"] = "OrdersApi",
        }).Build();
        using var host = BuildHost(new FakeLogCollector(), services => services.AddSafeSql(configuration.GetSection("SafeSql:Orders"), "orders"));

        // Act
        await host.StartAsync();

        // Assert
        var options = host.Services.GetRequiredService<IOptionsMonitor<SafeSqlOptions>>().Get("orders");
        Assert.Equal(2000, options.ConnectionStringPolicy.MaxPoolSizeLimit);
        AssertConnectionStringEqual(
            "Data Source=tcp:127.0.0.1,1433;Password=Zq7-Hunter2;Max Pool Size=2000;Application Name=OrdersApi",
            SqlConnectionStringNormalizer.Normalize(options));
        await host.StopAsync();
    }

    [Fact]
    public async Task AddSafeSql_WarningFinding_HostStartsAndLogsTheWarning()
    {
        // Arrange
        var logs = new FakeLogCollector();
        using var host = BuildHost(logs, services => services
            .AddSafeSql("Server=tcp:127.0.0.1,1433;Pwd=Zq7-Hunter2;Pooling=false")
            .ConfigureConnectionStringPolicy(policy => policy.AllowPoolingDisabled = true));

        // Act
        await host.StartAsync();

        // Assert
        var warning = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.ConnectionStringWarning);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.StartsWith(
            "SafeSql instance '(default)': connection string accepted with warning SAFESQL004. SAFESQL004: Pooling=false turns connection pooling off (allowed by SqlConnectionStringPolicyOptions.AllowPoolingDisabled, so this is a warning).",
            warning.Message,
            StringComparison.Ordinal);
        AssertNoPasswordIn(logs, null);
        await host.StopAsync();
    }

    internal static IHost BuildHost(FakeLogCollector logs, Action<IServiceCollection> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(new FakeLoggerProvider(logs));
        configure(builder.Services);
        return builder.Build();
    }

    /// <summary>
    /// Asserts that two connection strings are identical without printing a password on failure: Assert.Equal compares them
    /// with Password removed (shown on failure); the passwords and the exact strings are compared by Assert.True (never shown).
    /// </summary>
    internal static void AssertConnectionStringEqual(string expected, string? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(WithoutPassword(expected), WithoutPassword(actual));
        Assert.True(
            string.Equals(new SqlConnectionStringBuilder(expected).Password, new SqlConnectionStringBuilder(actual).Password, StringComparison.Ordinal),
            "The passwords differ (not shown).");
        Assert.True(string.Equals(expected, actual, StringComparison.Ordinal), "The strings differ in spelling or order of their keywords (not shown: they contain a password).");
    }

    internal static string WithoutPassword(string connectionString)
    {
        var builder = new SqlConnectionStringBuilder(connectionString);
        builder.Remove("Password");
        return builder.ConnectionString;
    }

    internal static void AssertNoPasswordIn(FakeLogCollector logs, Exception? exception, string? password = null)
    {
        var texts = logs.GetSnapshot()
            .SelectMany(r => new[] { r.Message, r.Exception?.ToString() }
                .Concat((r.StructuredState ?? []).Select(pair => pair.Value)))
            .Append(exception?.ToString());
        foreach (var text in texts)
        {
            SqlConnectionStringPolicyTests.AssertNoSecret(text);
            if (password is not null && text is not null)
            {
                Assert.True(!text.Contains(password, StringComparison.Ordinal), "A log record or the exception contains the password (not shown).");
            }
        }
    }

    // Options configuration actions (the connection string, ValidateOnStart's entry) are added per call, by design.
    private static bool IsNotAConfigureAction(ServiceDescriptor descriptor)
        => !(descriptor.ServiceType.IsGenericType && descriptor.ServiceType.GetGenericTypeDefinition() == typeof(IConfigureOptions<>));

    private static void AssertRegistered(IServiceCollection services, Type serviceType, object? key, ServiceLifetime lifetime)
    {
        var descriptor = Assert.Single(services, d => d.ServiceType == serviceType && Equals(d.ServiceKey, key));
        Assert.Equal(lifetime, descriptor.Lifetime);
    }

    private sealed record ConnectionStringSource(string Value);
}

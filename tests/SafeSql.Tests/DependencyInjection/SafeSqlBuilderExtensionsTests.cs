using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

using SafeSql.ConnectionStrings;

namespace SafeSql.Tests.DependencyInjection;

public sealed class SafeSqlBuilderExtensionsTests
{
    [Fact]
    public void Configure_ArgValidation_ThrowsNamingTheParameter()
    {
        // Arrange
        ISafeSqlBuilder nullBuilder = null!;
        var builder = new ServiceCollection().AddSafeSql(SafeSqlServiceCollectionExtensionsTests.GoodConnectionString);

        // Act / Assert
        Assert.Equal("builder", Assert.Throws<ArgumentNullException>(() => nullBuilder.Configure(_ => { })).ParamName);
        Assert.Equal("builder", Assert.Throws<ArgumentNullException>(() => nullBuilder.Configure(new ConfigurationBuilder().Build())).ParamName);
        Assert.Equal("builder", Assert.Throws<ArgumentNullException>(() => nullBuilder.ConfigureConnectionStringPolicy(_ => { })).ParamName);
        Assert.Equal("configure", Assert.Throws<ArgumentNullException>(() => builder.Configure((Action<SafeSqlOptions>)null!)).ParamName);
        Assert.Equal("configuration", Assert.Throws<ArgumentNullException>(() => builder.Configure((IConfiguration)null!)).ParamName);
        Assert.Equal("configure", Assert.Throws<ArgumentNullException>(() => builder.ConfigureConnectionStringPolicy(null!)).ParamName);
    }

    [Fact]
    public void Configure_Action_AppliesToTheNamedInstanceOnlyAndReturnsTheSameBuilder()
    {
        // Arrange
        var services = new ServiceCollection();
        services.AddSafeSql("Server=default-db");
        var orders = services.AddSafeSql("Server=orders-db", "orders");

        // Act
        var returned = orders.Configure(options => options.ConnectionString = "Server=orders-db-2");

        // Assert
        Assert.Same(orders, returned);
        using var provider = services.BuildServiceProvider();
        var monitor = provider.GetRequiredService<IOptionsMonitor<SafeSqlOptions>>();
        Assert.Equal("Server=orders-db-2", monitor.Get("orders").ConnectionString);
        Assert.Equal("Server=default-db", monitor.Get(Options.DefaultName).ConnectionString);
    }

    [Fact]
    public void Configure_ConfigurationSection_OverridesValuesPresentInIt()
    {
        // Arrange
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStringPolicy:AllowConnectionLifetime"] = "true",
            ["ConnectionStringPolicy:MinConnectionLifetime"] = "00:05:00",
        }).Build();
        var services = new ServiceCollection();

        // Act
        services.AddSafeSql("Server=db;Connection Lifetime=600").Configure(configuration);

        // Assert
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptionsMonitor<SafeSqlOptions>>().Get(Options.DefaultName);
        Assert.Equal("Server=db;Connection Lifetime=600", options.ConnectionString);
        Assert.True(options.ConnectionStringPolicy.AllowConnectionLifetime);
        Assert.Equal(TimeSpan.FromMinutes(5), options.ConnectionStringPolicy.MinConnectionLifetime);
    }

    [Fact]
    public async Task ConfigureConnectionStringPolicy_ClusterOptIn_LetsAHostWithConnectionLifetimeStart()
    {
        // Arrange
        var logs = new FakeLogCollector();
        using var host = SafeSqlServiceCollectionExtensionsTests.BuildHost(logs, services => services
            .AddSafeSql("Server=tcp:127.0.0.1,1433;Pwd=Zq7-Hunter2;Connection Lifetime=300", "cluster")
            .ConfigureConnectionStringPolicy(policy =>
            {
                policy.AllowConnectionLifetime = true;
                policy.ApplicationName = "OrdersApi";
            }));

        // Act
        await host.StartAsync();

        // Assert
        var factory = host.Services.GetRequiredKeyedService<SafeSqlDataSource>("cluster");
        SafeSqlServiceCollectionExtensionsTests.AssertConnectionStringEqual(
            "Data Source=tcp:127.0.0.1,1433;Password=Zq7-Hunter2;Load Balance Timeout=300;Application Name=OrdersApi",
            SqlConnectionStringNormalizer.Normalize(factory.Options));
        await host.StopAsync();
    }

    [Fact]
    public async Task ConfigureConnectionStringPolicy_WithoutTheOptIn_ConnectionLifetimeStopsTheHost()
    {
        // Arrange
        using var host = SafeSqlServiceCollectionExtensionsTests.BuildHost(new FakeLogCollector(), services => services
            .AddSafeSql("Server=tcp:127.0.0.1,1433;Connection Lifetime=300", "cluster")
            .ConfigureConnectionStringPolicy(policy => policy.ApplicationName = "OrdersApi"));

        // Act
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        // Assert
        Assert.StartsWith(
            "SafeSqlOptions.ConnectionString of 'cluster' refused. SAFESQL005: Connection Lifetime=300 (Load Balance Timeout) makes the pool destroy",
            ex.Message,
            StringComparison.Ordinal);
        Assert.Contains("Fix: Remove Connection Lifetime.", ex.Message, StringComparison.Ordinal);
    }
}

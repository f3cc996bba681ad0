using System.Data;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Testing;

using SafeSql.Testing;

namespace SafeSql.Tests.DependencyInjection;

/// <summary>The good path end to end: a real host, the real SqlClient, real TCP to the loopback TDS server.</summary>
public sealed partial class SafeSqlServiceCollectionExtensionsTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddSafeSql_GoodConnectionString_HostStartsAndOpenReturnsAnOpenSqlConnection(bool async)
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var applicationName = UniqueApplicationName();
        var logs = new FakeLogCollector();
        using var host = BuildHost(logs, services => services
            .AddSafeSql(server.ConnectionString)
            .ConfigureConnectionStringPolicy(policy => policy.ApplicationName = applicationName));
        await host.StartAsync();
        using var scope = host.Services.CreateScope();
        var factory = scope.ServiceProvider.GetRequiredService<ISqlConnectionFactory>();

        // Act
        await using var connection = async ? await factory.OpenAsync() : factory.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        var one = async ? await command.ExecuteScalarAsync() : command.ExecuteScalar();

        // Assert
        Assert.IsType<SqlConnection>(connection);
        Assert.Equal(ConnectionState.Open, connection.State);
        Assert.Equal(1, one);
        var login = Assert.Single(server.Logins);
        Assert.Equal(applicationName, login.ApplicationName);
        Assert.Equal(LoopbackSqlServerOptions.DefaultUserName, login.UserName);
        Assert.True(string.Equals(LoopbackSqlServerOptions.DefaultPassword, login.Password, StringComparison.Ordinal), "The server received another password (not shown).");
        Assert.Equal(
            $"Data Source=tcp:127.0.0.1,{server.Port};User ID=sa;Pool Blocking Period=NeverBlock;Server Certificate={server.CertificatePath};Application Name={applicationName};Connect Retry Count=0",
            connection.ConnectionString);
        AssertNoPasswordIn(logs, null, LoopbackSqlServerOptions.DefaultPassword);
        await host.StopAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddSafeSql_EquivalentStringsInTwoNamedInstances_ShareOnePoolAndOneTcpConnection(bool async)
    {
        // Arrange: the same database written two ways (synonyms, order, a default value spelled out).
        await using var server = await LoopbackSqlServer.StartAsync();
        var applicationName = UniqueApplicationName();
        var password = LoopbackSqlServerOptions.DefaultPassword;
        var first = $"Server=tcp:127.0.0.1,{server.Port};UID=sa;Pwd={password};Encrypt=False;Connect Retry Count=0";
        var second = $"Connect Retry Count=0;Encrypt=false;Pooling=true;Password={password};User ID=sa;Data Source=tcp:127.0.0.1,{server.Port};Max Pool Size=100";
        using var host = BuildHost(new FakeLogCollector(), services =>
        {
            services.AddSafeSql(first, "reports").ConfigureConnectionStringPolicy(policy => policy.ApplicationName = applicationName);
            services.AddSafeSql(second, "orders").ConfigureConnectionStringPolicy(policy => policy.ApplicationName = applicationName);
        });
        await host.StartAsync();
        using var scope = host.Services.CreateScope();
        var reports = scope.ServiceProvider.GetRequiredKeyedService<ISqlConnectionFactory>("reports");
        var orders = scope.ServiceProvider.GetRequiredKeyedService<ISqlConnectionFactory>("orders");

        // Act: open and dispose through one instance, then through the other.
        await (async ? OpenAndDisposeAsync(reports) : OpenAndDispose(reports));
        await (async ? OpenAndDisposeAsync(orders) : OpenAndDispose(orders));

        // Assert: the second open reused the first one's pooled connection.
        Assert.Equal("reports", reports.Name);
        Assert.Equal("orders", orders.Name);
        Assert.Equal(1, server.Counters.TcpConnectionsAccepted);
        Assert.Equal(applicationName, Assert.Single(server.Logins).ApplicationName);
        await host.StopAsync();

        static async Task OpenAndDisposeAsync(ISqlConnectionFactory factory)
        {
            await using var connection = await factory.OpenAsync();
            Assert.Equal(ConnectionState.Open, connection.State);
        }

        static Task OpenAndDispose(ISqlConnectionFactory factory)
        {
            using var connection = factory.Open();
            Assert.Equal(ConnectionState.Open, connection.State);
            return Task.CompletedTask;
        }
    }

    // SqlClient pools by the exact connection string: a name per test gives each test its own pool.
    private static string UniqueApplicationName() => $"SafeSql.Tests.Policy.{Guid.NewGuid():N}";
}

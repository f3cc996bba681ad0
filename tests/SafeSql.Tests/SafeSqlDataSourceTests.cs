using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;

using Dapper;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

using SafeSql.Diagnostics;
using SafeSql.Testing;
using SafeSql.Tests.TestUtilities;

using static SafeSql.Tests.TestUtilities.CallerInfo;

namespace SafeSql.Tests;

/// <summary>
/// <see cref="SafeSqlDataSource"/> as a console program, a library and a host use it: the real SqlClient against the loopback
/// server, leases and leak reports observed through the data source's own callback, logs and metrics.
/// </summary>
public sealed class SafeSqlDataSourceTests
{
    [Fact]
    public async Task Create_NoHost_OpensQueriesAndReportsADroppedConnectionWithItsLine()
    {
        // Arrange: a console program: no host, no DI.
        await using var server = await LoopbackSqlServer.StartAsync();
        var reports = new List<SqlConnectionLeakReport>();
        var builder = new SafeSqlDataSourceBuilder(UniquePool(server.ConnectionString));
        builder.Options.Leaks.OnLeakDetected = report => { lock (reports) { reports.Add(report); } };
        await using var dataSource = builder.Build();

        // Act
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT 1"));
        }

        var line = OpenAndDrop(dataSource);
        await WaitForAsync(() => { GC.Collect(); GC.WaitForPendingFinalizers(); lock (reports) { return reports.Count > 0; } });

        // Assert
        var report = Assert.Single(reports);
        Assert.Equal(SqlConnectionLeakKind.CollectedWithoutDispose, report.Kind);
        Assert.Equal(nameof(OpenAndDrop), report.Lease.CallSite!.MemberName);
        Assert.Equal(line, report.Lease.CallSite.LineNumber);
        Assert.Equal(ThisFilePath(), report.Lease.CallSite.FilePath);
        Assert.Equal(0, dataSource.GetPoolSnapshot().LeasedCount);
    }

    [Fact]
    public void Create_RefusedString_ThrowsOptionsValidationExceptionWithTheRuleAndNoPassword()
    {
        // Act
        var ex = Assert.Throws<OptionsValidationException>(() => SafeSqlDataSource.Create("Data Source=tcp:db,1433;User ID=app;Password=Zq7-Hunter2;Pooling=false"));

        // Assert
        Assert.StartsWith("SafeSqlOptions.ConnectionString refused. SAFESQL004: Pooling=false turns connection pooling off.", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.Message.Contains("Zq7-Hunter2", StringComparison.Ordinal), "The message contains the password (not shown).");
    }

    [Fact]
    public async Task ConnectionString_HasNoPassword_ButConnectionsLogIn()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        await using var dataSource = SafeSqlDataSource.Create(UniquePool(server.ConnectionString));

        // Act
        await using var connection = await dataSource.OpenConnectionAsync();

        // Assert
        Assert.DoesNotContain("Password", dataSource.ConnectionString, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(ConnectionState.Open, connection.State);
        Assert.Equal(1, server.Logins.Count(l => l.Succeeded));
    }

    [Fact]
    public async Task DbDataSourceFromDependencyInjection_ServesDapperWithAnUnknownCallSite()
    {
        // Arrange: a library that only knows DbDataSource.
        await using var server = await LoopbackSqlServer.StartAsync();
        using var host = Host.CreateDefaultBuilder().ConfigureServices(services => services.AddSafeSql(UniquePool(server.ConnectionString))).Build();
        await host.StartAsync();
        var dbDataSource = host.Services.GetRequiredService<DbDataSource>();

        // Act
        await using var connection = await dbDataSource.OpenConnectionAsync();
        var one = await connection.QuerySingleAsync<int>("SELECT 1");
        var snapshot = host.Services.GetRequiredService<SafeSqlDataSource>().GetPoolSnapshot();

        // Assert: the same singleton; the lease is tracked, its call site unknown through the base type.
        Assert.Same(host.Services.GetRequiredService<SafeSqlDataSource>(), dbDataSource);
        Assert.IsType<SqlConnection>(connection);
        Assert.Equal(1, one);
        Assert.Equal(1, snapshot.LeasedCount);
        Assert.Null(snapshot.OldestLease!.CallSite);
        await host.StopAsync();
    }

    [Fact]
    public async Task CreateConnection_OpenedAndClosed1000Times_Begins1000LeasesAndEndsThemWithoutALeak()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var reports = new List<SqlConnectionLeakReport>();
        var builder = new SafeSqlDataSourceBuilder(UniquePool(server.ConnectionString)) { Name = $"create-{Guid.NewGuid():N}" };
        builder.Options.Leaks.OnLeakDetected = reports.Add;
        await using var dataSource = builder.Build();
        using var useTime = new MetricCollector<double>(dataSource.Metrics.Meter, "db.client.connection.use_time");
        await using var connection = dataSource.CreateConnection();
        var leasedWhileOpen = new List<int>();

        // Act: a repository that opens and closes one connection around each query.
        for (var i = 0; i < 1000; i++)
        {
            await connection.OpenAsync();
            leasedWhileOpen.Add(dataSource.GetPoolSnapshot().LeasedCount);
            await connection.CloseAsync();
        }

        // Assert: one lease per open, each ended by its close (db.client.connection.use_time: one measurement per ended lease).
        Assert.All(leasedWhileOpen, count => Assert.Equal(1, count));
        Assert.Equal(0, dataSource.GetPoolSnapshot().LeasedCount);
        Assert.Equal(1000, useTime.GetMeasurementSnapshot().Count(m => Equals(m.Tags[SafeSqlMetrics.PoolNameTag], builder.Name)));
        Assert.Empty(reports);
        Assert.Equal(1, server.Counters.TcpConnectionsAccepted);
    }

    [Fact]
    public async Task CreateConnection_LeftOpenAndDropped_ReportsTheLineThatCreatedIt()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var reports = new List<SqlConnectionLeakReport>();
        var builder = new SafeSqlDataSourceBuilder(UniquePool(server.ConnectionString));
        builder.Options.Leaks.OnLeakDetected = report => { lock (reports) { reports.Add(report); } };
        await using var dataSource = builder.Build();

        // Act
        var line = CreateOpenAndDrop(dataSource);
        await WaitForAsync(() => { GC.Collect(); GC.WaitForPendingFinalizers(); lock (reports) { return reports.Count > 0; } });

        // Assert
        var report = Assert.Single(reports);
        Assert.Equal(SqlConnectionLeakKind.CollectedWithoutDispose, report.Kind);
        Assert.Equal(line, report.Lease.CallSite!.LineNumber);
        Assert.Equal(nameof(CreateOpenAndDrop), report.Lease.CallSite.MemberName);
    }

    [Fact]
    public async Task NamedInstancesWithEquivalentStrings_ShareOnePoolsLeases_AndTheTimeoutNamesBothCallSites()
    {
        // Arrange: two spellings of one database (one SqlClient pool of 2), in two named instances.
        await using var server = await LoopbackSqlServer.StartAsync();
        var applicationName = $"SafeSql.Tests.DataSource.{Guid.NewGuid():N}";
        var builder = new SqlConnectionStringBuilder(server.ConnectionString) { MaxPoolSize = 2, ConnectTimeout = 2, ApplicationName = applicationName };
        var first = builder.ConnectionString;
        var second = "Connect Timeout=2;" + first.Replace("Max Pool Size=2", "Max Pool Size = 2", StringComparison.Ordinal);
        using var host = Host.CreateDefaultBuilder().ConfigureServices(services =>
        {
            services.AddSafeSql(first, name: "orders");
            services.AddSafeSql(second, name: "reports");
        }).Build();
        await host.StartAsync();
        var orders = host.Services.GetRequiredKeyedService<SafeSqlDataSource>("orders");
        var reports = host.Services.GetRequiredKeyedService<SafeSqlDataSource>("reports");

        // Act: one lease through each, then a third open.
        var (a, lineA) = (await orders.OpenConnectionAsync(), CurrentLine());
        var (b, lineB) = (await reports.OpenConnectionAsync(), CurrentLine());
        var ex = await Assert.ThrowsAsync<SqlConnectionPoolExhaustedException>(async () => await reports.OpenConnectionAsync());

        // Assert: one pool, counted once, both holders named.
        Assert.Equal(2, orders.GetPoolSnapshot().LeasedCount);
        Assert.StartsWith("Connection pool exhausted: 2 of Max Pool Size=2 leased;", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"SafeSqlDataSourceTests.cs:{lineA}", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"SafeSqlDataSourceTests.cs:{lineB}", ex.Message, StringComparison.Ordinal);
        await a.DisposeAsync();
        await b.DisposeAsync();
        await host.StopAsync();
    }

    [Fact]
    public async Task ScopedFactoryResolvedFromTheRoot_IsReportedAndItsDroppedConnectionIsStillDetected()
    {
        // Arrange: scope validation off, as in Production: a singleton holding ISqlConnectionFactory.
        await using var server = await LoopbackSqlServer.StartAsync();
        var logs = new FakeLogCollector();
        var reports = new List<SqlConnectionLeakReport>();
        using var loggerFactory = new LoggerFactory([new FakeLoggerProvider(logs)]);
        var services = new ServiceCollection().AddSingleton<ILoggerFactory>(loggerFactory);
        services.AddSafeSql(options =>
        {
            options.ConnectionString = UniquePool(server.ConnectionString);
            options.Leaks.OnLeakDetected = report => { lock (reports) { reports.Add(report); } };
        });
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = false });

        // Act
        var fromRoot = provider.GetRequiredService<ISqlConnectionFactory>();
        var line = OpenThroughFactoryAndDrop(fromRoot);
        await WaitForAsync(() => { GC.Collect(); GC.WaitForPendingFinalizers(); lock (reports) { return reports.Count > 0; } });
        using (var scope = provider.CreateScope())
        {
            Assert.IsAssignableFrom<ISqlConnectionScope>(scope.ServiceProvider.GetRequiredService<ISqlConnectionFactory>());
        }

        // Assert: reported once, with the fix; the dropped connection was found by its sentinel, not held by a root scope.
        Assert.IsNotAssignableFrom<ISqlConnectionScope>(fromRoot);
        var log = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.ScopedFactoryResolvedFromRoot);
        Assert.Equal(LogLevel.Error, log.Level);
        Assert.EndsWith("Inject SafeSqlDataSource (or DbDataSource) into singletons and create a scope per unit of work: await using var scope = dataSource.CreateScope();", log.Message, StringComparison.Ordinal);
        var report = Assert.Single(reports);
        Assert.Equal(SqlConnectionLeakKind.CollectedWithoutDispose, report.Kind);
        Assert.Equal(line, report.Lease.CallSite!.LineNumber);
    }

    [Fact]
    public async Task Dispose_WithALeaseStillOpen_LogsTheLeaseAndRefusesNewOpens()
    {
        // Arrange
        await using var server = await LoopbackSqlServer.StartAsync();
        var logs = new FakeLogCollector();
        using var loggerFactory = new LoggerFactory([new FakeLoggerProvider(logs)]);
        var dataSource = new SafeSqlDataSourceBuilder(UniquePool(server.ConnectionString)).UseLoggerFactory(loggerFactory).Build();
        await using var held = await dataSource.OpenConnectionAsync();

        // Act
        await dataSource.DisposeAsync();

        // Assert
        var log = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == SafeSqlEventId.DataSourceDisposedWithLeases);
        Assert.StartsWith("SafeSql pool '(default)': the data source was disposed with 1 connection(s) still leased (oldest: ", log.Message, StringComparison.Ordinal);
        Assert.Throws<ObjectDisposedException>(() => dataSource.OpenConnection());
        Assert.Throws<ObjectDisposedException>(() => dataSource.CreateConnection());
    }

    private static string UniquePool(string connectionString) =>
        new SqlConnectionStringBuilder(connectionString) { ApplicationName = $"SafeSql.Tests.DataSource.{Guid.NewGuid():N}" }.ConnectionString;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int OpenAndDrop(SafeSqlDataSource dataSource)
    {
        var (connection, line) = (dataSource.OpenConnection(), CurrentLine());
        GC.KeepAlive(connection);
        return line;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int CreateOpenAndDrop(SafeSqlDataSource dataSource)
    {
        var (connection, line) = (dataSource.CreateConnection(), CurrentLine());
        connection.Open();
        return line;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int OpenThroughFactoryAndDrop(ISqlConnectionFactory factory)
    {
        var (connection, line) = (factory.OpenConnection(), CurrentLine());
        GC.KeepAlive(connection);
        return line;
    }

    /// <summary>Polls <paramref name="condition"/> for at most 10 s (finalizers and the report drain run on other threads).</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), "The condition did not become true within 10 s.");
    }
}

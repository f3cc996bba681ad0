using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace SafeSql.EntityFrameworkCore.Tests;

public sealed class UseSafeSqlTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UseSafeSql_QueryAndSaveChanges_RunThroughTheDataSource(bool async)
    {
        // Arrange
        await using var database = await OrdersDatabase.StartAsync();
        await using var dataSource = SafeSqlDataSource.Create(database.ConnectionString());
        var options = new DbContextOptionsBuilder<OrdersContext>().UseSafeSql(dataSource).Options;

        // Act
        List<Order> orders;
        int saved;
        var order = new Order { Name = "third" };
        await using (var context = new OrdersContext(options))
        {
            orders = async ? await context.Orders.Where(o => o.Id > 0).ToListAsync() : context.Orders.Where(o => o.Id > 0).ToList();
            context.Orders.Add(order);
            saved = async ? await context.SaveChangesAsync() : context.SaveChanges();
        }

        // Assert
        Assert.Equal(["first", "second"], orders.Select(o => o.Name));
        Assert.Equal(1, saved);
        Assert.Equal(101, order.Id);
        Assert.Equal(0, dataSource.GetPoolSnapshot().LeasedCount);
        var insert = Assert.Single(database.Requests, r => r.Sql.Contains("INSERT INTO [Orders]", StringComparison.Ordinal));
        Assert.Equal("sp_executesql", insert.ProcedureName);
        Assert.Equal("third", Assert.Single(insert.Parameters).Value);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SaveChanges_InsertsUpdateAndDelete_AreAnsweredStatementByStatement(bool async)
    {
        // Arrange
        await using var harness = await EfHarness.StartAsync();
        await using var context = harness.CreateContext();
        var first = new Order { Name = "a" };
        var second = new Order { Name = "b" };
        context.Orders.AddRange(first, second);
        context.Orders.Attach(new Order { Id = 1, Name = "first" }).Property(o => o.Name).CurrentValue = "renamed";
        context.Orders.Remove(context.Orders.Attach(new Order { Id = 2, Name = "second" }).Entity);

        // Act
        var saved = async ? await context.SaveChangesAsync() : context.SaveChanges();

        // Assert: one RPC with the DELETE, the UPDATE and a MERGE for both inserts, each answered with its own result set.
        Assert.Equal(4, saved);
        Assert.Equal([101, 102], new[] { first.Id, second.Id });
        var batch = Assert.Single(harness.Database.Requests);
        Assert.Equal("sp_executesql", batch.ProcedureName);
        Assert.Contains("MERGE [Orders]", batch.Sql, StringComparison.Ordinal);
        Assert.Equal(5, batch.Parameters.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GetDbConnection_OpenedByHandAndNeverClosed_IsReportedWhenTheContextEnds(bool async)
    {
        // Arrange
        await using var harness = await EfHarness.StartAsync();
        var context = harness.CreateContext();
        var connection = context.Database.GetDbConnection();

        // Act: opened by hand, never closed; the context (the unit of work) ends.
        if (async)
        {
            await connection.OpenAsync();
            await context.DisposeAsync();
        }
        else
        {
            connection.Open();
            context.Dispose();
        }

        // Assert: one leak report naming the context type and the line that configured it; the connection went back.
        var leak = Assert.Single(harness.Leaks);
        Assert.Equal(SqlConnectionLeakKind.NotDisposedBeforeScopeEnd, leak.Kind);
        Assert.Equal(nameof(OrdersContext), leak.Lease.CallSite?.MemberName);
        Assert.Equal("EfHarness.cs", leak.Lease.CallSite?.FileName);
        Assert.StartsWith("Connection leak in SafeSql pool '(default)': the connection opened at EfHarness.cs:", leak.Message, StringComparison.Ordinal);
        Assert.Equal(System.Data.ConnectionState.Closed, connection.State);
        Assert.Equal(0, harness.DataSource.GetPoolSnapshot().LeasedCount);
    }

    [Fact]
    public async Task AddDbContextPool_ConnectionOpenedByHandInARequest_IsReportedWhenTheContextGoesBackToThePool()
    {
        // Arrange
        await using var database = await OrdersDatabase.StartAsync();
        var leaks = new List<SqlConnectionLeakReport>();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSafeSql(database.ConnectionString()).Configure(options => options.Leaks.OnLeakDetected = leaks.Add);
        builder.Services.AddDbContextPool<OrdersContext>((services, options) => options.UseSafeSql(services.GetRequiredService<SafeSqlDataSource>()));
        using var host = builder.Build();
        await host.StartAsync();

        // Act: a request opens the context's connection by hand and never closes it; its DI scope ends.
        await using (var scope = host.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<OrdersContext>().Database.GetDbConnection().OpenAsync();
        }

        // Assert: reported when the context was reset for the next request; the connection is back in SqlClient's pool.
        var leak = Assert.Single(leaks);
        Assert.Equal(SqlConnectionLeakKind.NotDisposedBeforeScopeEnd, leak.Kind);
        Assert.Equal(nameof(OrdersContext), leak.Lease.CallSite?.MemberName);
        Assert.Equal("UseSafeSqlTests.cs", leak.Lease.CallSite?.FileName);
        Assert.Equal(0, host.Services.GetRequiredService<SafeSqlDataSource>().GetPoolSnapshot().LeasedCount);
        await host.StopAsync();
    }

    [Fact]
    public async Task DatabaseOpenConnection_LeftOpenUntilTheContextEnds_IsNotALeak()
    {
        // Arrange
        await using var harness = await EfHarness.StartAsync();

        // Act: EF's own open; EF documents that the context closes it.
        await using (var context = harness.CreateContext())
        {
            await context.Database.OpenConnectionAsync();
            _ = await context.Orders.ToListAsync();
        }

        // Assert
        Assert.Empty(harness.Leaks);
        Assert.Equal(0, harness.DataSource.GetPoolSnapshot().LeasedCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UseSafeSql_ContextClosesItsConnections_ReportsNoLeak(bool async)
    {
        // Arrange
        await using var harness = await EfHarness.StartAsync();

        // Act: EF opens and closes around each query; the context ends with nothing open.
        await using (var context = harness.CreateContext())
        {
            _ = async ? await context.Orders.CountAsync() : context.Orders.Count();
            _ = async ? await context.Orders.ToListAsync() : context.Orders.ToList();
        }

        // Assert
        Assert.Empty(harness.Leaks);
        Assert.Equal(0, harness.DataSource.GetPoolSnapshot().LeasedCount);
    }

    [Fact]
    public async Task AddDbContext_PoolingFalseInTheConnectionString_IsRefusedAtStartup()
    {
        // Arrange: the EF context's string comes from the data source, whose policy runs when the host starts.
        await using var database = await OrdersDatabase.StartAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSafeSql(database.ConnectionString() + ";Pooling=false");
        builder.Services.AddDbContext<OrdersContext>((services, options) => options.UseSafeSql(services.GetRequiredService<SafeSqlDataSource>()));
        using var host = builder.Build();

        // Act
        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        // Assert
        Assert.StartsWith("SafeSqlOptions.ConnectionString refused. SAFESQL004: Pooling=false turns connection pooling off.", exception.Message, StringComparison.Ordinal);
        Assert.Equal(0, database.Server.Counters.TcpConnectionsAccepted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddDbContextPool_1000Requests_LogInAtMostMaxPoolSizeConnections(bool async)
    {
        // Arrange: pooled contexts on a data source whose SqlClient pool holds at most 8 connections.
        const int MaxPoolSize = 8;
        await using var database = await OrdersDatabase.StartAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSafeSql(database.ConnectionString(maxPoolSize: MaxPoolSize));
        builder.Services.AddDbContextPool<OrdersContext>((services, options) => options.UseSafeSql(services.GetRequiredService<SafeSqlDataSource>()));
        using var host = builder.Build();
        await host.StartAsync();
        var completed = 0;

        // Act: 1,000 requests, 32 at a time, each in its own DI scope as ASP.NET Core makes them.
        async Task RequestAsync()
        {
            await using var scope = host.Services.CreateAsyncScope();
            var context = scope.ServiceProvider.GetRequiredService<OrdersContext>();
            _ = await context.Orders.ToListAsync();
            Interlocked.Increment(ref completed);
        }

        void Request()
        {
            using var scope = host.Services.CreateScope();
            var context = scope.ServiceProvider.GetRequiredService<OrdersContext>();
            _ = context.Orders.ToList();
            Interlocked.Increment(ref completed);
        }

        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 32 };
        if (async)
        {
            await Parallel.ForAsync(0, 1000, parallel, async (_, _) => await RequestAsync());
        }
        else
        {
            Parallel.For(0, 1000, parallel, _ => Request());
        }

        // Assert: every request ran; SqlClient never made more than Max Pool Size physical connections (logins: a TCP connection
        // beyond them is the data source's probe, a connect and PRELOGIN without a login, when an open waited over 500 ms while
        // a connection of the pool could still be made); nothing is leased.
        Assert.Equal(1000, completed);
        Assert.InRange(database.Server.Counters.Logins, 1, MaxPoolSize);
        Assert.Equal(0, host.Services.GetRequiredService<SafeSqlDataSource>().GetPoolSnapshot().LeasedCount);
        await host.StopAsync();
    }
}

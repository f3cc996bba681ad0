using Microsoft.EntityFrameworkCore;

namespace SafeSql.WebApi;

/// <summary>
/// EF Core beside Dapper: <see cref="OrdersDbContext"/> is configured with <c>UseSafeSql(dataSource)</c> (Program.cs), so its
/// connections come from the same SafeSql data source and SqlClient pool as the Dapper endpoints', each open is a tracked
/// lease naming the context, and failures are retried by <c>SafeSqlExecutionStrategy</c> as SafeSql classifies them.
/// </summary>
internal static class EfOrderEndpoints
{
    /// <summary>
    /// <c>GET /ef/orders/{id}</c>: the same read as <c>GET /orders/{id}</c>, through EF Core. The SQL is raw (the loopback
    /// server answers literal SELECTs, not a real Orders table); with a real database it would be <c>db.Orders.FindAsync(id)</c>.
    /// </summary>
    public static async Task<Order> GetOrderAsync(int id, OrdersDbContext db, CancellationToken cancellationToken)
    {
        var orders = await db.Database
            .SqlQuery<Order>($"SELECT {id} AS Id, 'Widget' AS Product, 42.5 AS Total")
            .ToListAsync(cancellationToken);
        return orders.Single();
    }

    /// <summary>
    /// <c>GET /ef/orders/export?seconds=20</c>: slow EF Core work that keeps the context's connection open (1 to 60 s). While it
    /// runs, <c>GET /safesql</c> lists the lease among the holders, named after the context.
    /// </summary>
    public static async Task<IResult> ExportAsync(OrdersDbContext db, CancellationToken cancellationToken, int seconds = 20)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await db.Database.SqlQuery<int>($"SELECT 1 AS Value").ToListAsync(cancellationToken);
            await Task.Delay(TimeSpan.FromSeconds(Math.Clamp(seconds, 1, 60)), cancellationToken);
            return Results.Text($"Exported through EF Core, holding one connection for {Math.Clamp(seconds, 1, 60)} s.");
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}

/// <summary>The EF Core context of the sample (pooled: <c>AddDbContextPool</c>; the connection string is the data source's).</summary>
internal sealed class OrdersDbContext(DbContextOptions<OrdersDbContext> options) : DbContext(options);

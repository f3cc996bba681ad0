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
}

/// <summary>The EF Core context of the sample (pooled: <c>AddDbContextPool</c>; the connection string is the data source's).</summary>
internal sealed class OrdersDbContext(DbContextOptions<OrdersDbContext> options) : DbContext(options);

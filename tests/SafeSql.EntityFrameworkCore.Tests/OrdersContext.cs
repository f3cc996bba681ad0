using Microsoft.EntityFrameworkCore;

namespace SafeSql.EntityFrameworkCore.Tests;

public sealed class Order
{
    public int Id { get; set; }

    public string Name { get; set; } = "";
}

/// <summary>The context of the tests: one table, answered by <see cref="OrdersDatabase"/> on the loopback server.</summary>
public sealed class OrdersContext(DbContextOptions<OrdersContext> options) : DbContext(options)
{
    public DbSet<Order> Orders => Set<Order>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.Entity<Order>(order =>
        {
            order.ToTable("Orders");
            order.Property(o => o.Name).HasMaxLength(100);
        });
}

using Microsoft.EntityFrameworkCore;

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
}

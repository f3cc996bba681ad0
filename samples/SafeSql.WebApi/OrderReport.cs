using System.Data.Common;

using Dapper;

namespace SafeSql.WebApi;

/// <summary>
/// A library's view of the database: it takes a <see cref="DbDataSource"/>, the .NET abstraction, and knows nothing of SafeSql.
/// Registered as a singleton, it is given SafeSql's data source by DI, so its connections are validated, pooled and tracked
/// (a lease per open, ended when the connection is disposed) like the request code's.
/// </summary>
internal sealed class OrderReport(DbDataSource dataSource)
{
    /// <summary><c>GET /reports/orders/{id}</c>: one order, read through the data source.</summary>
    public async Task<Order> GetAsync(int id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<Order>(
            new CommandDefinition("SELECT @id AS Id, 'Widget' AS Product, 42.5 AS Total", new { id }, cancellationToken: cancellationToken));
    }
}

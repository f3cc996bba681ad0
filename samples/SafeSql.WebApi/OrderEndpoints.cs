using Dapper;

namespace SafeSql.WebApi;

/// <summary>The data endpoints: a read through Dapper, a deliberately leaky one and a slow one.</summary>
internal static class OrderEndpoints
{
    /// <summary>
    /// <c>GET /orders/{id}</c>: <see cref="ISqlConnectionFactory"/> (scoped to the request) hands out the real, open
    /// SqlConnection, so Dapper works as usual. Dispose it (<c>await using</c>) to return it to the pool.
    /// </summary>
    public static async Task<Order> GetOrderAsync(int id, ISqlConnectionFactory db, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<Order>(
            new CommandDefinition("SELECT @id AS Id, 'Widget' AS Product, 42.5 AS Total", new { id }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// <c>GET /leaky</c>: a deliberate leak, the connection is never disposed. When the request ends, SafeSql returns it to
    /// the pool and reports it with this file and line: <c>GET /leaks</c>, the log (event id 2001), the health check, the meter.
    /// </summary>
    public static async Task<IResult> LeakyAsync(ISqlConnectionFactory db, CancellationToken cancellationToken)
    {
        var connection = await db.OpenConnectionAsync(cancellationToken); // the leak report names this line
        await connection.QuerySingleAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: cancellationToken));
        return Results.Text("Opened a connection and did not dispose it. GET /leaks shows the report.");
    }

    /// <summary>
    /// <c>GET /orders/export?seconds=20</c>: a slow export that holds its connection while it works (1 to 60 s). While it
    /// runs, <c>GET /safesql</c> lists this line among the holders, with its age.
    /// </summary>
    public static async Task<IResult> ExportAsync(ISqlConnectionFactory db, CancellationToken cancellationToken, int seconds = 20)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken); // the holder the diagnostics page names
        await connection.QuerySingleAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: cancellationToken));
        await Task.Delay(TimeSpan.FromSeconds(Math.Clamp(seconds, 1, 60)), cancellationToken);
        return Results.Text($"Exported, holding one connection for {Math.Clamp(seconds, 1, 60)} s.");
    }
}

/// <summary>An order, as read by <see cref="OrderEndpoints.GetOrderAsync"/>.</summary>
internal sealed record Order(int Id, string Product, decimal Total);

// SafeSql.EntityFrameworkCore.NetworkLab: runs an EF Core query into REAL ephemeral port exhaustion, once with UseSafeSql and
// once with EF Core's EnableRetryOnFailure, and prints one JSON object on standard output. The tests run it inside a private
// network namespace (SafeSql.Testing.Network.PrivateNetworkNamespace: 50 ephemeral ports, net.ipv4.tcp_tw_reuse=0).
//
// Usage: SafeSql.EntityFrameworkCore.NetworkLab [--async]
//   1. Pooling=false opens (each opened and disposed, its port left in TIME_WAIT) until one fails: the ports are gone.
//   2. An EF Core query with UseSafeSql (the data source's open retry with SocketExhaustionDelay 200 ms, within the open's
//      budget, Connect Timeout 5 s), then the same query with EnableRetryOnFailure(3): attempts, seconds, what the caller got.
// Every loop is bounded: at most 200 opens and 60 seconds.

using System.Diagnostics;
using System.Text.Json;

using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

using SafeSql;
using SafeSql.EntityFrameworkCore;
using SafeSql.Testing;

var useAsync = args.Contains("--async");
var report = new Dictionary<string, object?> { ["async"] = useAsync };
try
{
    // A loopback SQL server on a fixed port outside the namespace's narrowed ephemeral range.
    await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Port = 1433 });
    server.BatchHandler = request => LoopbackResponse.Rows(["Id", "Name"], [1, "first"]);
    var pooled = new SqlConnectionStringBuilder(server.ConnectionString) { DataSource = "tcp:127.0.0.1,1433", ConnectTimeout = 5 };
    var unpooled = new SqlConnectionStringBuilder(pooled.ConnectionString) { Pooling = false };

    // 1. Use up the ports the way a Pooling=false service does.
    var opens = 0;
    var clock = Stopwatch.StartNew();
    while (opens < 200 && clock.Elapsed < TimeSpan.FromSeconds(60))
    {
        await using var connection = new SqlConnection(unpooled.ConnectionString);
        try
        {
            await connection.OpenAsync();
        }
        catch (SqlException)
        {
            break;
        }

        opens++;
    }

    report["opensBeforeFailure"] = opens;

    // 2. The same query, each strategy on a pool of its own.
    var builder = new SafeSqlDataSourceBuilder(pooled.ConnectionString + ";Application Name=ef-lab-safesql");
    builder.Options.OpenRetry = new SqlRetryStrategyOptions { SocketExhaustionDelay = TimeSpan.FromMilliseconds(200) };
    await using var dataSource = builder.Build();
    report["useSafeSql"] = await RunAsync(options => options.UseSafeSql(dataSource));
    report["enableRetryOnFailure"] = await RunAsync(options => options.UseSqlServer(
        pooled.ConnectionString + ";Application Name=ef-lab-ef",
        sql => sql.EnableRetryOnFailure(3)));
    Console.WriteLine(JsonSerializer.Serialize(report));
    return 0;
}
catch (Exception ex)
{
    report["error"] = ex.ToString();
    Console.WriteLine(JsonSerializer.Serialize(report));
    return 1;
}

async Task<Dictionary<string, object?>> RunAsync(Action<DbContextOptionsBuilder> configure)
{
    var retries = 0;
    var builder = new DbContextOptionsBuilder<LabContext>().LogTo(_ => Interlocked.Increment(ref retries), [CoreEventId.ExecutionStrategyRetrying]);
    configure(builder);
    var clock = Stopwatch.StartNew();
    var result = new Dictionary<string, object?>();
    try
    {
        await using var context = new LabContext(builder.Options);
        _ = useAsync ? await context.Orders.ToListAsync() : context.Orders.ToList();
        result["outcome"] = "succeeded";
    }
    catch (Exception ex)
    {
        result["outcome"] = ex.GetType().Name;
        result["number"] = (ex as SqlException)?.Number;
        result["message"] = ex.Message;
    }

    result["attempts"] = retries + 1;
    result["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
    return result;
}

internal sealed class LabOrder
{
    public int Id { get; set; }

    public string Name { get; set; } = "";
}

internal sealed class LabContext(DbContextOptions<LabContext> options) : DbContext(options)
{
    public DbSet<LabOrder> Orders => Set<LabOrder>();
}

// SafeSql in an ASP.NET Core minimal API: configuration, a Dapper read, the health check, the pool, metrics exported with
// OpenTelemetry, and a deliberately leaky endpoint. Run it with `dotnet run --project samples/SafeSql.WebApi`, then try:
//   GET /orders/42     a read through Dapper            GET /health    Healthy / Degraded / Unhealthy, with the pool snapshot
//   GET /leaky         forgets to dispose a connection  GET /leaks     the leak reports, with the leaking file:line
//   GET /pool          the live pool snapshot           and the console: the "SafeSql" meter every 10 s (OpenTelemetry)
//   GET /reports/orders/42   a singleton "library" that takes a DbDataSource (SafeSql's data source)
//   GET /ef/orders/42        the /orders read through EF Core (UseSafeSql: same data source, pool and leak tracking)
//   GET /safesql             who holds the pool right now: a page in a browser, JSON otherwise (and at /safesql.json)
//   GET /orders/export?seconds=20, GET /ef/orders/export?seconds=20   slow work holding a connection, to see on /safesql
using System.Text.Json;

using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

using SafeSql;
using SafeSql.Diagnostics;
using SafeSql.Testing;
using SafeSql.WebApi;

var builder = WebApplication.CreateBuilder(args);

// 1. The database: a real SQL Server when "SafeSql:ConnectionString" is configured (appsettings.json, the environment
//    variable SafeSql__ConnectionString, user secrets); otherwise a loopback SQL Server started in this process.
var safeSql = builder.Configuration.GetSection("SafeSql");
LoopbackSqlServer? loopback = null;
if (string.IsNullOrWhiteSpace(safeSql["ConnectionString"]))
{
    loopback = await LoopbackSqlServer.StartAsync();
    safeSql["ConnectionString"] = loopback.ConnectionString;
}

// 2. SafeSql, bound from configuration. The connection string is judged when the application starts: Pooling=false,
//    Max Pool Size=40000 and the other hacks stop it with an OptionsValidationException that names the rule and the fix.
//    Each request's DI scope is a SafeSql scope: a connection still open when the request ends goes back to the pool and
//    is reported as a leak, with the line that opened it.
//    Singletons and libraries take the data source instead (SafeSqlDataSource, or DbDataSource as OrderReport.cs does).
var leaks = new RecentLeaks();
builder.Services.AddSingleton(leaks);
builder.Services.AddSafeSql(safeSql).Configure(options => options.Leaks.OnLeakDetected = leaks.Add);
builder.Services.AddSingleton<OrderReport>();

//    EF Core on the same data source (EfOrderEndpoints.cs): pooled contexts, connections from SafeSql, SafeSql's retries.
builder.Services.AddDbContextPool<OrdersDbContext>((services, options) => options.UseSafeSql(services.GetRequiredService<SafeSqlDataSource>()));

// 3. Metrics through OpenTelemetry: SafeSql's meter "SafeSql" (db.client.connection.count / .max / .use_time /
//    .timeouts, db.client.connection.safesql.leaks / .failures, tagged with the pool name) and Polly's meter "Polly" (the
//    retries of Polly pipelines that enable Polly's telemetry). The console exporter prints them every 10 s; in production
//    add an OTLP or Prometheus exporter to the same builder. "OpenTelemetry:ConsoleExporter": false turns the printing off.
builder.Services.AddOpenTelemetry()
    .ConfigureResource(resource => resource.AddService("SafeSql.WebApi"))
    .WithMetrics(metrics =>
    {
        metrics.AddMeter(SafeSqlTelemetry.MeterName, "Polly");
        if (builder.Configuration.GetValue("OpenTelemetry:ConsoleExporter", defaultValue: true))
        {
            metrics.AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 10_000);
        }
    });

// 4. The health check: Healthy; Degraded under pool pressure (80 % of Max Pool Size leased) or after a recent leak;
//    Unhealthy when a connection cannot be opened.
builder.Services.AddHealthChecks().AddSafeSqlHealthCheck();

// 5. The live diagnostics (SafeSql.AspNetCore, mapped in section 9): holders, leaks, failures by kind, health, TCP.
//    Authorization is required unless the mapping opts out; outside Development, plug in your authentication
//    (AddAuthentication().AddJwtBearer(...), a policy for operators) and the endpoint serves only those users.
builder.Services.AddSafeSqlDiagnostics();

var app = builder.Build();
if (loopback is not null)
{
    app.Lifetime.ApplicationStopped.Register(() => loopback.DisposeAsync().AsTask().GetAwaiter().GetResult());
}

// 6. The data endpoints (OrderEndpoints.cs): a read through Dapper, and a deliberate leak whose report GET /leaks shows.
app.MapGet("/orders/{id:int}", OrderEndpoints.GetOrderAsync);
app.MapGet("/ef/orders/{id:int}", EfOrderEndpoints.GetOrderAsync);
app.MapGet("/leaky", OrderEndpoints.LeakyAsync);
app.MapGet("/leaks", (RecentLeaks reports) => reports.Snapshot());
app.MapGet("/reports/orders/{id:int}", (int id, OrderReport report, CancellationToken cancellationToken) => report.GetAsync(id, cancellationToken));
app.MapGet("/orders/export", OrderEndpoints.ExportAsync);
app.MapGet("/ef/orders/export", EfOrderEndpoints.ExportAsync);

// 7. The pool.
app.MapGet("/pool", (SafeSqlDataSource dataSource) =>
{
    var pool = dataSource.GetPoolSnapshot();
    return new
    {
        pool.PoolName,
        pool.LeasedCount,
        pool.MaxPoolSize,
        pool.Pooling,
        OldestLease = pool.OldestLease?.ToString(),
        TopCallSites = pool.TopCallSitesByCount.Select(static usage => usage.ToString()),
        pool.LeaksDetected,
        pool.LastLeakDetectedAt,
        pool.PoolTimeouts,
    };
});

// 8. The health check, as JSON.
app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = WriteHealthAsync });

// 9. Who holds the pool right now. Anonymous only in Development: the page names the code's call sites, the server and the
//    database, so anywhere else it is for authorized operators only (the default of MapSafeSqlDiagnostics).
var diagnostics = app.MapSafeSqlDiagnostics("/safesql");
if (app.Environment.IsDevelopment())
{
    diagnostics.AllowAnonymous();
}

app.Run();

// The health report as JSON: status, description and the pool snapshot SafeSql puts in the data (never the connection string).
static Task WriteHealthAsync(HttpContext context, HealthReport report)
{
    context.Response.ContentType = "application/json";
    return context.Response.WriteAsync(JsonSerializer.Serialize(new
    {
        status = report.Status.ToString(),
        checks = report.Entries.Select(static entry => new
        {
            name = entry.Key,
            status = entry.Value.Status.ToString(),
            description = entry.Value.Description,
            data = entry.Value.Data,
        }),
    }));
}

public partial class Program;

using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;

using OpenTelemetry;
using OpenTelemetry.Metrics;

using SafeSql.Testing;

namespace SafeSql.Samples.Tests.WebApi;

/// <summary>
/// The WebApi sample hosted by <see cref="WebApplicationFactory{TEntryPoint}"/>, configured like a deployment would be:
/// <c>SafeSql:*</c> settings, against a loopback server owned by the test (or, with no connection string, the one the
/// sample starts itself). Its OpenTelemetry metrics go to an in-memory exporter (<see cref="ExportMetrics"/>) instead of the
/// console.
/// </summary>
internal sealed class SampleApp : IAsyncDisposable
{
    private readonly List<MetricSnapshot> _exported;

    private SampleApp(WebApplicationFactory<Program> factory, LoopbackSqlServer? server, List<MetricSnapshot> exported)
    {
        Factory = factory;
        Server = server;
        _exported = exported;
    }

    public WebApplicationFactory<Program> Factory { get; }

    /// <summary>Gets the test's loopback server, or <see langword="null"/> when the sample runs its own.</summary>
    public LoopbackSqlServer? Server { get; }

    /// <summary>The sample as configured out of the box (no connection string: it starts its own loopback server).</summary>
    public static SampleApp WithDefaultConfiguration() => new(new WebApplicationFactory<Program>(), null, []);

    /// <summary>The sample configured with <c>SafeSql:ConnectionString</c> = a fresh loopback server's string plus <paramref name="settings"/>.</summary>
    public static async Task<SampleApp> WithServerAsync(string settings = "", params (string Key, string Value)[] configuration)
    {
        var server = await LoopbackSqlServer.StartAsync();
        var connectionString = new SqlConnectionStringBuilder(server.ConnectionString + ";" + settings)
        {
            ApplicationName = "SafeSql.WebApi tests " + Guid.NewGuid().ToString("N")[..8], // a pool of its own
        }.ConnectionString;
        var exported = new List<MetricSnapshot>();
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("SafeSql:ConnectionString", connectionString);
            builder.UseSetting("OpenTelemetry:ConsoleExporter", "false");
            builder.ConfigureServices(services => services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddInMemoryExporter(exported)));
            foreach (var (key, value) in configuration)
            {
                builder.UseSetting(key, value);
            }
        });
        return new SampleApp(factory, server, exported);
    }

    /// <summary>
    /// Flushes the application's OpenTelemetry meter provider (the in-memory exporter receives every metric with points) and
    /// returns the latest export of each instrument of <paramref name="meterName"/>.
    /// </summary>
    public IReadOnlyDictionary<string, MetricSnapshot> ExportMetrics(string meterName)
    {
        Assert.True(Factory.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000), "The meter provider did not flush within 10 s.");
        lock (_exported)
        {
            return _exported
                .Where(metric => metric.MeterName == meterName)
                .GroupBy(metric => metric.Name)
                .ToDictionary(group => group.Key, group => group.Last(), StringComparer.Ordinal);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Factory.DisposeAsync();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

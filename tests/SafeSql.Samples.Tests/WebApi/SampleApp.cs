using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.SqlClient;

using SafeSql.Testing;

namespace SafeSql.Samples.Tests.WebApi;

/// <summary>
/// The WebApi sample hosted by <see cref="WebApplicationFactory{TEntryPoint}"/>, configured like a deployment would be:
/// <c>SafeSql:*</c> settings, against a loopback server owned by the test (or, with no connection string, the one the
/// sample starts itself).
/// </summary>
internal sealed class SampleApp : IAsyncDisposable
{
    private SampleApp(WebApplicationFactory<Program> factory, LoopbackSqlServer? server)
    {
        Factory = factory;
        Server = server;
    }

    public WebApplicationFactory<Program> Factory { get; }

    /// <summary>Gets the test's loopback server, or <see langword="null"/> when the sample runs its own.</summary>
    public LoopbackSqlServer? Server { get; }

    /// <summary>The sample as configured out of the box (no connection string: it starts its own loopback server).</summary>
    public static SampleApp WithDefaultConfiguration() => new(new WebApplicationFactory<Program>(), null);

    /// <summary>The sample configured with <c>SafeSql:ConnectionString</c> = a fresh loopback server's string plus <paramref name="settings"/>.</summary>
    public static async Task<SampleApp> WithServerAsync(string settings = "", params (string Key, string Value)[] configuration)
    {
        var server = await LoopbackSqlServer.StartAsync();
        var connectionString = new SqlConnectionStringBuilder(server.ConnectionString + ";" + settings)
        {
            ApplicationName = "SafeSql.WebApi tests " + Guid.NewGuid().ToString("N")[..8], // a pool of its own
        }.ConnectionString;
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("SafeSql:ConnectionString", connectionString);
            foreach (var (key, value) in configuration)
            {
                builder.UseSetting(key, value);
            }
        });
        return new SampleApp(factory, server);
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

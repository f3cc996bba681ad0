using System.Net.Http.Headers;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using SafeSql.AspNetCore;
using SafeSql.Testing;

namespace SafeSql.AspNetCore.Tests;

/// <summary>
/// An ASP.NET Core application on a real Kestrel (127.0.0.1, a free port) with one SafeSql data source on a loopback SQL
/// Server and the diagnostics mapped at /safesql; its client authenticates as an "ops" user unless told otherwise.
/// </summary>
internal sealed class DiagnosticsApp : IAsyncDisposable
{
    internal const string OpsPolicy = "ops";

    private readonly List<SqlConnectionLeakReport> _leaks;

    private DiagnosticsApp(LoopbackSqlServer server, WebApplication app, Uri address, List<SqlConnectionLeakReport> leaks)
    {
        _leaks = leaks;
        Server = server;
        App = app;
        Address = address;
        Client = CreateClient(user: "operator", roles: "ops");
    }

    internal LoopbackSqlServer Server { get; }

    internal WebApplication App { get; }

    internal Uri Address { get; }

    /// <summary>An authenticated client in role "ops".</summary>
    internal HttpClient Client { get; }

    internal SafeSqlDataSource DataSource => App.Services.GetRequiredService<SafeSqlDataSource>();

    internal static async Task<DiagnosticsApp> StartAsync(
        Action<SafeSqlOptions>? configureSafeSql = null,
        Action<IEndpointConventionBuilder>? configureEndpoint = null,
        Action<LoopbackSqlServerOptions>? configureServer = null,
        Func<string, string>? rewriteConnectionString = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var serverOptions = new LoopbackSqlServerOptions();
        configureServer?.Invoke(serverOptions);
        var server = await LoopbackSqlServer.StartAsync(serverOptions);
        var connectionString = rewriteConnectionString?.Invoke(server.ConnectionString) ?? server.ConnectionString;

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var leaks = new List<SqlConnectionLeakReport>();
        builder.Services.AddSafeSql(options =>
        {
            options.ConnectionString = connectionString;
            options.Leaks.OnLeakDetected = report =>
            {
                lock (leaks)
                {
                    leaks.Add(report);
                }
            };
            configureSafeSql?.Invoke(options);
        });
        builder.Services.AddHealthChecks().AddSafeSqlHealthCheck();
        builder.Services.AddSafeSqlDiagnostics();
        builder.Services.AddAuthentication(HeaderAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, HeaderAuthenticationHandler>(HeaderAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization(options => options.AddPolicy(OpsPolicy, policy => policy.RequireRole("ops")));
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        var endpoint = app.MapSafeSqlDiagnostics();
        configureEndpoint?.Invoke(endpoint);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        return new DiagnosticsApp(server, app, address, leaks);
    }

    /// <summary>The reports the application's own <c>OnLeakDetected</c> received.</summary>
    internal SqlConnectionLeakReport[] ApplicationLeaks()
    {
        lock (_leaks)
        {
            return [.. _leaks];
        }
    }

    internal HttpClient CreateClient(string? user, string? roles = null)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        if (user is not null)
        {
            client.DefaultRequestHeaders.Add(HeaderAuthenticationHandler.UserHeader, user);
        }

        if (roles is not null)
        {
            client.DefaultRequestHeaders.Add(HeaderAuthenticationHandler.RolesHeader, roles);
        }

        return client;
    }

    internal async Task<string> GetHtmlAsync(string path = "/safesql")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("*/*", 0.8));
        using var response = await Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Server.DisposeAsync();
    }
}

using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

using SafeSql.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the SafeSql diagnostics endpoint: who holds the pool right now, as JSON and as a page.</summary>
public static class SafeSqlDiagnosticsEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>GET {pattern}</c> (a self-contained HTML page for a browser, JSON for any other client, by the Accept header)
    /// and <c>GET {pattern}.json</c> (always JSON, schema version 1: docs/diagnostics.md): for every SafeSql data source,
    /// the holders (call site, leases, oldest age), the oldest lease's stack when captured, opens pending, recent leak
    /// reports, failed opens by kind over the recent window, pool timeouts, health and the OS TCP picture towards the server.
    /// </summary>
    /// <param name="endpoints">The endpoint route builder (a <c>WebApplication</c>).</param>
    /// <param name="pattern">The route of the page; the JSON is also served at the same route with ".json" appended.</param>
    /// <returns>A builder for both endpoints, to add conventions (a policy, <c>AllowAnonymous</c>, rate limiting).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoints"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="pattern"/> is <see langword="null"/>, empty or white space.</exception>
    /// <exception cref="InvalidOperationException"><c>services.AddSafeSqlDiagnostics()</c> was not called.</exception>
    /// <remarks>
    /// <para>
    /// Authorization is required by default (<c>RequireAuthorization()</c>: the default policy, an authenticated user); pass
    /// a stricter policy with <c>.RequireAuthorization("ops")</c>. <c>.AllowAnonymous()</c> opens it to anyone who can reach
    /// the port: the page names your code's call sites, stacks, server and database. Do that only where the port is private
    /// (development, a management port bound to loopback).
    /// </para>
    /// <para>
    /// Never shown: the connection string, password, user, SQL text or parameter values. Each request takes one pool snapshot
    /// per data source and reads bounded memory; a successful open pays nothing for it.
    /// </para>
    /// </remarks>
    public static IEndpointConventionBuilder MapSafeSqlDiagnostics(this IEndpointRouteBuilder endpoints, string pattern = "/safesql")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        var endpoint = endpoints.ServiceProvider.GetService<DiagnosticsEndpoint>()
            ?? throw new InvalidOperationException("MapSafeSqlDiagnostics needs the SafeSql diagnostics services: call builder.Services.AddSafeSqlDiagnostics() before building the application.");
        var trimmed = pattern.TrimEnd('/');
        var page = endpoints.MapGet(pattern, endpoint.NegotiateAsync);
        var json = endpoints.MapGet(trimmed + ".json", endpoint.JsonAsync);
        var builder = new CompositeEndpointConventionBuilder(page, json);
        builder.ExcludeFromDescription();
        builder.RequireAuthorization();
        return builder;
    }
}

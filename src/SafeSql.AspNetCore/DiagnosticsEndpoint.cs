using System.Text.Json;

using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace SafeSql.AspNetCore;

/// <summary>
/// Answers <c>GET {pattern}</c> (HTML when the client prefers <c>text/html</c>, as browsers do; JSON otherwise) and
/// <c>GET {pattern}.json</c> (always JSON). Responses are never cached and never sniffed.
/// </summary>
internal sealed class DiagnosticsEndpoint
{
    private const string JsonSuffix = ".json";

    private readonly DiagnosticsDocumentBuilder _builder;
    private readonly SafeSqlDiagnosticsOptions _options;

    public DiagnosticsEndpoint(DiagnosticsDocumentBuilder builder, SafeSqlDiagnosticsCollector collector)
    {
        _builder = builder;
        _options = collector.Options;
    }

    internal Task NegotiateAsync(HttpContext context) => WriteAsync(context, PrefersHtml(context.Request));

    internal Task JsonAsync(HttpContext context) => WriteAsync(context, html: false);

    private async Task WriteAsync(HttpContext context, bool html)
    {
        var document = await _builder.BuildAsync(context.RequestAborted).ConfigureAwait(false);
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.Vary = HeaderNames.Accept;
        if (html)
        {
            response.ContentType = "text/html; charset=utf-8";
            response.Headers.ContentSecurityPolicy = DiagnosticsPage.ContentSecurityPolicy;
            var path = context.Request.PathBase.Add(context.Request.Path).Value ?? string.Empty;
            await response.WriteAsync(DiagnosticsPage.Render(document, path.TrimEnd('/') + JsonSuffix, _options.PageRefreshInterval), context.RequestAborted).ConfigureAwait(false);
            return;
        }

        response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(response.Body, document, DiagnosticsJsonContext.Default.DiagnosticsDocument, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>HTML when the Accept header ranks <c>text/html</c> above <c>application/json</c> (a browser's does); JSON for <c>*/*</c>, none, or a tie.</summary>
    internal static bool PrefersHtml(HttpRequest request)
    {
        if (StringValues.IsNullOrEmpty(request.Headers.Accept) || !MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted))
        {
            return false;
        }

        double html = 0, json = 0;
        foreach (var media in accepted)
        {
            var quality = media.Quality ?? 1;
            if (media.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase))
            {
                html = Math.Max(html, quality);
            }
            else if (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            {
                json = Math.Max(json, quality);
            }
        }

        return html > json;
    }
}

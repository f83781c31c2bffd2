using Microsoft.AspNetCore.Http;

namespace FastPath.Agent.Stats;

/// <summary>
/// GET /: the live dashboard, one self-contained HTML page (Dashboard.html, embedded in the
/// assembly: no file to deploy next to the binary, no external URL) that polls /v1/traffic,
/// /v1/clustermesh and /v1/flows from the browser.
/// </summary>
internal static class Dashboard
{
    private const string ResourceName = "FastPath.Agent.Stats.Dashboard.html";

    private static readonly Lazy<byte[]> Page = new(() =>
    {
        using var stream = typeof(Dashboard).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from the agent assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    public static Task Write(HttpContext http)
    {
        http.Response.ContentType = "text/html; charset=utf-8";
        http.Response.Headers.CacheControl = "no-store";
        return http.Response.Body.WriteAsync(Page.Value).AsTask();
    }
}

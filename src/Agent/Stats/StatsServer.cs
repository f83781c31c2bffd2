using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FastPath.Agent.Stats;

/// <summary>
/// The agent's stats endpoint on Kestrel (<c>--stats-address</c>, default 127.0.0.1:9962):
/// <code>
///   GET /healthz            200 "ok" | 503 reason
///   GET /metrics            Prometheus text
///   GET /v1/services        frontends and their backends (preferred marks)
///   GET /v1/clustermesh     local + remote cluster status
///   GET /v1/nodes, /v1/identities, /v1/policy
///   GET /v1/flows[?follow=1] recent flows and drops; follow streams JSON lines until the client goes away
///   GET /v1/traffic         packets/bytes per frontend and per backend, drops by reason
///   GET /                   the live dashboard (one self-contained page polling the endpoints above)
/// </code>
/// Everything here runs on Kestrel's threads and only reads the datapath; it never blocks a worker.
/// </summary>
internal sealed class StatsServer : IDisposable
{
    public const string DefaultAddress = "127.0.0.1:9962";
    /// <summary>How often a follow stream polls the flow rings (ms).</summary>
    private const int FollowPollMs = 200;
    /// <summary>Open follow streams get this long to end when the agent stops.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(2);

    private readonly WebApplication _app;

    private StatsServer(WebApplication app) => _app = app;

    /// <summary>Parses "host:port" / "[v6]:port"; the message names the flag on failure.</summary>
    public static IPEndPoint ParseAddress(string text)
    {
        if (!IPEndPoint.TryParse(text, out var endpoint) || endpoint.Port == 0 || !text.Contains(':'))
            throw new AgentOptionException($"--stats-address '{text}': expected ip:port, e.g. {DefaultAddress} or [::1]:9962");
        return endpoint;
    }

    public static bool IsWildcard(IPEndPoint endpoint) =>
        endpoint.Address.Equals(IPAddress.Any) || endpoint.Address.Equals(IPAddress.IPv6Any);

    /// <summary>
    /// The agent's entry: starts the endpoint (default address when <paramref name="endpoint"/> is null),
    /// warns when it is bound to every interface, and logs an error naming the flag when it cannot bind
    /// (the agent keeps forwarding without it: the datapath matters more than its stats).
    /// </summary>
    public static StatsServer? StartForAgent(IPEndPoint? endpoint, StatsSources sources)
    {
        endpoint ??= ParseAddress(DefaultAddress);
        if (IsWildcard(endpoint))
            AgentLog.Warn($"--stats-address {endpoint}: the stats endpoint is reachable from every network the node is on; " +
                $"prefer {DefaultAddress} unless a scraper needs it");
        try
        {
            var server = Start(endpoint, sources);
            AgentLog.Info($"stats endpoint listening on http://{endpoint}");
            return server;
        }
        catch (IOException e)
        {
            AgentLog.Error($"--stats-address {endpoint}: cannot listen ({e.Message}); stats endpoint disabled");
            return null;
        }
    }

    public static StatsServer Start(IPEndPoint endpoint, StatsSources sources)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders(); // the agent log is ours; Kestrel's chatter would drown it
        builder.WebHost.UseKestrel(k => k.Listen(endpoint));
        var app = builder.Build();

        app.MapGet("/healthz", (HttpContext http) =>
        {
            var health = HealthCheck.Evaluate(sources);
            http.Response.StatusCode = health.Healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            return http.Response.WriteAsync(health.Reason + "\n");
        });
        app.MapGet("/metrics", (HttpContext http) =>
        {
            http.Response.ContentType = PrometheusWriter.ContentType;
            return http.Response.WriteAsync(MetricsExporter.Write(sources));
        });
        app.MapGet("/v1/services", (HttpContext http) => Json(http, ApiBuilder.Services(sources)));
        app.MapGet("/v1/clustermesh", (HttpContext http) => Json(http, ApiBuilder.ClusterMesh(sources)));
        app.MapGet("/v1/nodes", (HttpContext http) => Json(http, ApiBuilder.Nodes(sources)));
        app.MapGet("/v1/identities", (HttpContext http) => Json(http, ApiBuilder.Identities(sources)));
        app.MapGet("/v1/policy", (HttpContext http) => Json(http, ApiBuilder.Policy(sources)));
        app.MapGet("/v1/flows", (HttpContext http) => Flows(http, sources));
        app.MapGet("/v1/traffic", (HttpContext http) => Json(http, sources.Traffic.Read(sources)));
        app.MapGet("/", (HttpContext http) => Dashboard.Write(http));

        app.StartAsync().GetAwaiter().GetResult();
        return new StatsServer(app);
    }

    private static Task Json<T>(HttpContext http, T document)
    {
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(JsonSerializer.Serialize(document, ApiJson.Options));
    }

    private static async Task Flows(HttpContext http, StatsSources sources)
    {
        bool follow = http.Request.Query["follow"] is var f && (f == "1" || f == "true");
        var feed = new FlowFeed(sources, fromStart: true);
        if (!follow)
        {
            await Json(http, feed.ReadNew());
            return;
        }
        // JSON lines: one flow per line, flushed as they come, until the client disconnects.
        http.Response.ContentType = "application/x-ndjson";
        var aborted = http.RequestAborted;
        try
        {
            while (!aborted.IsCancellationRequested)
            {
                foreach (var flow in feed.ReadNew())
                    await http.Response.WriteAsync(JsonSerializer.Serialize(flow, ApiJson.Options) + "\n", aborted);
                await http.Response.Body.FlushAsync(aborted);
                await Task.Delay(FollowPollMs, aborted);
            }
        }
        catch (OperationCanceledException)
        {
            // the client went away: the normal end of a follow stream
        }
    }

    public void Dispose()
    {
        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            _app.StopAsync(timeout.Token).GetAwaiter().GetResult();
        }
        finally
        {
            _app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}

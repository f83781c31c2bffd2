using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using FastPath.ControlPlane.Kubernetes.Api;
using FastPath.ControlPlane.Tests.Etcd;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FastPath.ControlPlane.Tests.KubernetesApi;

/// <summary>
/// A stand-in Kubernetes API server: HTTPS Kestrel on 127.0.0.1 (random port) that speaks the list/watch
/// wire format of the real one for the four collections the agent watches:
/// <list type="bullet">
/// <item>list: <c>GET /api/v1/services?limit=N[&amp;continue=T]</c> → <c>{"kind":"ServiceList","apiVersion":"v1",
/// "metadata":{"resourceVersion":"RV","continue":"T"},"items":[...]}</c> (items without kind/apiVersion, as the real server sends them);</item>
/// <item>watch: <c>?watch=1&amp;resourceVersion=RV&amp;allowWatchBookmarks=true&amp;timeoutSeconds=S</c> → 200, chunked,
/// one <c>{"type":"ADDED","object":{...}}</c> per line, flushed per event;</item>
/// <item>errors: <c>kind: Status</c> bodies with <c>code</c>, <c>reason</c>, <c>message</c>.</item>
/// </list>
/// Tests script it: put objects (list state), push watch lines, drop connections, answer the next watch with a status.
/// </summary>
internal sealed class FakeKubeApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Collection> _collections = new();
    private long _resourceVersion = 100;

    private FakeKubeApiServer(WebApplication app)
    {
        _app = app;
        foreach (var resource in KubeResource.All)
            _collections[resource.Path] = new Collection(resource);
    }

    public const string Token = "test-token-1";

    public Uri Server { get; private set; } = null!;

    /// <summary>Every request, in arrival order.</summary>
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Bearer token the server accepts (null: any or none).</summary>
    public string? AcceptedToken { get; set; } = Token;

    public static async Task<FakeKubeApiServer> StartAsync(TestCertificates certificates, bool requireClientCertificate = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var serverCertificate = X509Certificate2.CreateFromPemFile(certificates.ServerCertFile, certificates.ServerKeyFile);
        var ca = new X509Certificate2Collection();
        ca.ImportFromPemFile(certificates.CaFile);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(https =>
        {
            https.ServerCertificate = serverCertificate;
            if (requireClientCertificate)
            {
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                https.ClientCertificateValidation = (certificate, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.AddRange(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(certificate);
                };
            }
        })));
        var app = builder.Build();
        var server = new FakeKubeApiServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Server = new Uri(address.Replace("0.0.0.0", "127.0.0.1").Replace("[::]", "127.0.0.1"));
        return server;
    }

    /// <summary>Adds or replaces an object in the list state (no watch event); returns its new resource version.</summary>
    public string Put(KubeResource resource, JsonObject obj)
    {
        string rv = NextResourceVersion();
        var copy = (JsonObject)obj.DeepClone();
        ((JsonObject)copy["metadata"]!)["resourceVersion"] = rv;
        _collections[resource.Path].Items[Key(copy)] = copy;
        return rv;
    }

    public void Remove(KubeResource resource, string? ns, string name) =>
        _collections[resource.Path].Items.TryRemove((ns ?? "", name), out _);

    /// <summary>Puts the object in the list state and sends ADDED/MODIFIED/DELETED with it on the open watch.</summary>
    public void Event(KubeResource resource, string type, JsonObject obj)
    {
        var copy = (JsonObject)obj.DeepClone();
        if (type == "DELETED")
        {
            _collections[resource.Path].Items.TryRemove(Key(copy), out _);
            ((JsonObject)copy["metadata"]!)["resourceVersion"] = NextResourceVersion();
        }
        else
        {
            Put(resource, copy);
            copy = _collections[resource.Path].Items[Key(copy)];
        }
        copy["kind"] = resource.Kind;
        copy["apiVersion"] = resource.ApiVersion;
        SendLine(resource, new JsonObject { ["type"] = type, ["object"] = copy.DeepClone() }.ToJsonString());
    }

    /// <summary>A BOOKMARK carrying only kind, apiVersion and metadata.resourceVersion, as the real server sends it.</summary>
    public void Bookmark(KubeResource resource, string resourceVersion) =>
        SendLine(resource, $"{{\"type\":\"BOOKMARK\",\"object\":{{\"kind\":\"{resource.Kind}\",\"apiVersion\":\"{resource.ApiVersion}\"," +
            $"\"metadata\":{{\"resourceVersion\":\"{resourceVersion}\",\"annotations\":{{\"k8s.io/initial-events-end\":\"true\"}}}}}}}}");

    /// <summary>The ERROR event the server sends when the watch's resource version left its history window.</summary>
    public void ExpiredError(KubeResource resource, string resourceVersion) =>
        SendLine(resource, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\"," +
            $"\"message\":\"too old resource version: {resourceVersion} ({_resourceVersion})\",\"reason\":\"Expired\",\"code\":410}}}}");

    /// <summary>A raw line on the open (or next) watch: anything, malformed included.</summary>
    public void SendLine(KubeResource resource, string line) => SendRaw(resource, line + "\n");

    /// <summary>Bytes on the open (or next) watch exactly as given: no newline added (half an event, say).</summary>
    public void SendRaw(KubeResource resource, string text) => _collections[resource.Path].Actions.Writer.TryWrite(new WatchAction(text, Drop: false));

    /// <summary>Cuts the open (or next) watch connection without ending the chunked body.</summary>
    public void Drop(KubeResource resource) => _collections[resource.Path].Actions.Writer.TryWrite(new WatchAction(null, Drop: true));

    /// <summary>Answers the next watch (or list) request of that resource with an error status instead.</summary>
    public void FailNextWatch(KubeResource resource, int status) => _collections[resource.Path].NextWatchStatus.Enqueue(status);

    public void FailNextList(KubeResource resource, int status) => _collections[resource.Path].NextListStatus.Enqueue(status);

    public IEnumerable<RecordedRequest> WatchesOf(KubeResource resource) =>
        Requests.Where(r => r.Path == resource.Path && r.Query.TryGetValue("watch", out var w) && w == "1");

    public IEnumerable<RecordedRequest> ListsOf(KubeResource resource) =>
        Requests.Where(r => r.Path == resource.Path && !r.Query.ContainsKey("watch"));

    private string NextResourceVersion() => Interlocked.Increment(ref _resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static (string, string) Key(JsonObject obj) =>
        ((string?)obj["metadata"]!["namespace"] ?? "", (string)obj["metadata"]!["name"]!);

    private async Task HandleAsync(HttpContext context)
    {
        var query = context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString());
        string? authorization = context.Request.Headers.Authorization.FirstOrDefault();
        Requests.Enqueue(new RecordedRequest(context.Request.Path, query, authorization,
            context.Connection.ClientCertificate?.Subject));
        if (AcceptedToken is not null && authorization != $"Bearer {AcceptedToken}")
        {
            await StatusAsync(context, 401, "Unauthorized", "Unauthorized");
            return;
        }
        if (!_collections.TryGetValue(context.Request.Path.Value ?? "", out var collection))
        {
            await StatusAsync(context, 404, "NotFound", "the server could not find the requested resource");
            return;
        }
        if (query.TryGetValue("watch", out var watch) && watch == "1")
            await WatchAsync(context, collection);
        else
            await ListAsync(context, collection, query);
    }

    private async Task ListAsync(HttpContext context, Collection collection, Dictionary<string, string> query)
    {
        if (collection.NextListStatus.TryDequeue(out int status))
        {
            await StatusAsync(context, status, status == 403 ? "Forbidden" : "Error", $"{collection.Resource.Path} is forbidden: scripted");
            return;
        }
        int limit = query.TryGetValue("limit", out var l) ? int.Parse(l) : int.MaxValue;
        int offset = query.TryGetValue("continue", out var c) ? int.Parse(c.Split(':')[1]) : 0;
        var all = collection.Items.OrderBy(p => p.Key).Select(p => p.Value).ToList();
        var page = all.Skip(offset).Take(limit).ToList();
        var items = new JsonArray();
        foreach (var item in page)
        {
            var copy = (JsonObject)item.DeepClone();
            copy.Remove("kind");
            copy.Remove("apiVersion");
            items.Add(copy);
        }
        var metadata = new JsonObject { ["resourceVersion"] = Interlocked.Read(ref _resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (offset + page.Count < all.Count)
            metadata["continue"] = $"offset:{offset + page.Count}";
        var body = new JsonObject
        {
            ["kind"] = collection.Resource.Kind + "List",
            ["apiVersion"] = collection.Resource.ApiVersion,
            ["metadata"] = metadata,
            ["items"] = items,
        };
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    private async Task WatchAsync(HttpContext context, Collection collection)
    {
        if (collection.NextWatchStatus.TryDequeue(out int status))
        {
            await StatusAsync(context, status, status == 410 ? "Expired" : "Error",
                status == 410 ? "too old resource version" : "scripted failure");
            return;
        }
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.StartAsync();
        await context.Response.Body.FlushAsync();
        var aborted = context.RequestAborted;
        try
        {
            while (true)
            {
                var action = await collection.Actions.Reader.ReadAsync(aborted);
                if (action.Drop)
                {
                    context.Abort();
                    return;
                }
                await context.Response.WriteAsync(action.Text!, aborted);
                await context.Response.Body.FlushAsync(aborted);
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away (or the server is stopping).
        }
    }

    private static async Task StatusAsync(HttpContext context, int code, string reason, string message)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new Dictionary<string, object>(),
            ["status"] = "Failure", ["message"] = message, ["reason"] = reason, ["code"] = code,
        }));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var collection in _collections.Values)
            collection.Actions.Writer.TryComplete();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }

    internal sealed record RecordedRequest(string Path, Dictionary<string, string> Query, string? Authorization, string? ClientCertificateSubject);

    private sealed record WatchAction(string? Text, bool Drop);

    private sealed class Collection(KubeResource resource)
    {
        public KubeResource Resource { get; } = resource;
        public ConcurrentDictionary<(string, string), JsonObject> Items { get; } = new();
        public Channel<WatchAction> Actions { get; } = Channel.CreateUnbounded<WatchAction>();
        public ConcurrentQueue<int> NextWatchStatus { get; } = new();
        public ConcurrentQueue<int> NextListStatus { get; } = new();
    }
}

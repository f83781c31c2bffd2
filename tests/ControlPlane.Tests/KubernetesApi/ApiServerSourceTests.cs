using FastPath.Addressing;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Kubernetes.Api;
using FastPath.ControlPlane.Model;
using FastPath.ControlPlane.Tests.Kvstore;

namespace FastPath.ControlPlane.Tests.KubernetesApi;

/// <summary>
/// <see cref="ApiServerSource"/> against <see cref="FakeKubeApiServer"/> (HTTPS Kestrel on 127.0.0.1):
/// <code>
///   test ──scripts──► FakeKubeApiServer ◄── list (paged) / watch (chunked NDJSON) ── ApiServerSource ──► KubernetesObjects
///                     (objects, watch lines, drops, 410s)                            (CA-pinned TLS, bearer token)
/// </code>
/// Faults are provoked on purpose: expired resource versions, cut connections, broken lines, refused credentials.
/// </summary>
public sealed class ApiServerSourceTests
{
    private static readonly KubeResource Services = KubeResource.Services;
    private static readonly KubeResource Slices = KubeResource.EndpointSlices;

    [Fact]
    public async Task The_initial_list_follows_continue_tokens_across_pages_and_publishes_every_object()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        for (int i = 0; i < 5; i++)
            env.Server.Put(Services, ApiObjects.Service("shop", $"svc-{i}", $"10.96.0.{10 + i}"));
        env.Server.Put(Slices, ApiObjects.EndpointSlice("shop", "svc-0-abcde", "svc-0", "10.0.1.5", "10.0.1.6"));
        env.Server.Put(KubeResource.CiliumNetworkPolicies, ApiObjects.NetworkPolicy("shop", "allow-web", "svc-0", 8080));
        env.Server.Put(KubeResource.CiliumClusterwideNetworkPolicies, ApiObjects.ClusterwidePolicy("cluster-allow"));

        var source = env.Source(options: ApiTestEnvironment.FastOptions with { PageSize = 2 });
        await source.StartAsync(CancellationToken.None);

        var current = source.Current;
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"svc-{i}"), current.Services.Select(s => s.Name.Name));
        Assert.Equal(NetAddress.Parse("10.96.0.12"), current.FindService(new ServiceName("shop", "svc-2"))!.ClusterIPs.Single());
        Assert.Equal(2, current.SlicesOf(new ServiceName("shop", "svc-0")).Single().Endpoints.Length);
        Assert.Equal(["CiliumNetworkPolicy:shop/allow-web", "CiliumClusterwideNetworkPolicy:/cluster-allow"],
            current.Policies.Select(p => $"{p.Kind}:{p.Namespace}/{p.Name}"));

        var pages = env.Server.ListsOf(Services).ToList();
        Assert.Equal(3, pages.Count);
        Assert.All(pages, p => Assert.Equal("2", p.Query["limit"]));
        Assert.False(pages[0].Query.ContainsKey("continue"));
        Assert.Equal(["offset:2", "offset:4"], pages.Skip(1).Select(p => p.Query["continue"]));
        Assert.Equal(4, source.Counters.Lists);
    }

    [Fact]
    public async Task Watch_events_added_modified_and_deleted_change_the_published_objects()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        env.Server.Put(Services, ApiObjects.Service("default", "web", "10.96.0.10"));
        var source = env.Source();
        var changes = new List<KubernetesObjects>();
        source.Changed += (_, objects) => { lock (changes) changes.Add(objects); };
        await source.StartAsync(CancellationToken.None);
        long startGeneration = source.Current.Generation;
        await Wait.UntilAsync(() => env.Server.WatchesOf(Services).Any(), "the services watch");

        env.Server.Event(Services, "ADDED", ApiObjects.Service("default", "api", "10.96.0.20", global: true));
        await Wait.UntilAsync(() => source.Current.FindService(new ServiceName("default", "api")) is not null, "ADDED api");
        Assert.True(source.Current.FindService(new ServiceName("default", "api"))!.Global);

        env.Server.Event(Services, "MODIFIED", ApiObjects.Service("default", "api", "10.96.0.21", port: 8443, global: true));
        await Wait.UntilAsync(() => source.Current.FindService(new ServiceName("default", "api"))?.Ports.Single().Port == 8443, "MODIFIED api");
        Assert.Equal(NetAddress.Parse("10.96.0.21"), source.Current.FindService(new ServiceName("default", "api"))!.ClusterIPs.Single());

        env.Server.Event(Services, "DELETED", ApiObjects.Service("default", "web", "10.96.0.10"));
        await Wait.UntilAsync(() => source.Current.FindService(new ServiceName("default", "web")) is null, "DELETED web");

        Assert.Equal(["api"], source.Current.Services.Select(s => s.Name.Name));
        Assert.True(source.Current.Generation > startGeneration);
        lock (changes)
        {
            Assert.NotEmpty(changes);
            Assert.Same(source.Current, changes[^1]);
        }
        Assert.Equal(0, source.Counters.MalformedEvents);
    }

    [Fact]
    public async Task A_bookmark_advances_the_resource_version_the_next_watch_starts_from()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        var source = env.Source();
        await source.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(() => env.Server.WatchesOf(Services).Any(), "the first services watch");
        string listed = env.Server.WatchesOf(Services).First().Query["resourceVersion"];
        Assert.Equal("true", env.Server.WatchesOf(Services).First().Query["allowWatchBookmarks"]);

        env.Server.Bookmark(Services, "5000");
        await Wait.UntilAsync(() => source.ResourceVersions[Services] == "5000", "the bookmark's resource version");
        env.Server.Drop(Services);

        await Wait.UntilAsync(() => env.Server.WatchesOf(Services).Count() >= 2, "a second services watch");
        Assert.NotEqual("5000", listed);
        Assert.Equal("5000", env.Server.WatchesOf(Services).ElementAt(1).Query["resourceVersion"]);
        Assert.Empty(source.Current.Services); // a bookmark carries no object
    }

    [Fact]
    public async Task An_expired_error_event_forces_a_relist_that_removes_objects_absent_from_the_new_list()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        env.Server.Put(Services, ApiObjects.Service("default", "old", "10.96.0.10"));
        env.Server.Put(Services, ApiObjects.Service("default", "kept", "10.96.0.11"));
        var source = env.Source();
        await source.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(() => env.Server.WatchesOf(Services).Any(), "the services watch");

        // While the client was not looking: "old" deleted, "new" created (the events fell out of the history window).
        env.Server.Remove(Services, "default", "old");
        env.Server.Put(Services, ApiObjects.Service("default", "new", "10.96.0.12"));
        env.Server.ExpiredError(Services, env.Server.WatchesOf(Services).First().Query["resourceVersion"]);

        await Wait.UntilAsync(() => source.Current.Services.Select(s => s.Name.Name).SequenceEqual(["kept", "new"]),
            "the re-listed services", state: () => ApiTestEnvironment.Describe(source.Current) + "\n" + env.LogText);
        Assert.Equal(1, source.Counters.GoneRelists);
        Assert.Equal(2, env.Server.ListsOf(Services).Count());
        Assert.Contains("410", env.LogText);
    }

    [Fact]
    public async Task A_410_status_on_the_watch_request_also_forces_a_relist()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        var source = env.Source();
        await source.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(() => env.Server.WatchesOf(Slices).Any(), "the slices watch");

        env.Server.Put(Slices, ApiObjects.EndpointSlice("default", "web-1", "web", "10.0.0.7"));
        env.Server.FailNextWatch(Slices, 410);
        env.Server.Drop(Slices); // the next watch request gets the 410

        await Wait.UntilAsync(() => source.Current.EndpointSlices.Length == 1, "the re-listed slice",
            state: () => env.LogText);
        Assert.Equal(1, source.Counters.GoneRelists);
        Assert.Equal(2, env.Server.ListsOf(Slices).Count());
    }

    [Fact]
    public async Task A_connection_dropped_mid_event_reconnects_with_backoff_from_the_last_resource_version()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        var source = env.Source();
        await source.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(() => env.Server.WatchesOf(Services).Any(), "the services watch");

        env.Server.Event(Services, "ADDED", ApiObjects.Service("default", "web", "10.96.0.10"));
        await Wait.UntilAsync(() => source.Current.Services.Length == 1, "ADDED web");
        string lastSeen = source.ResourceVersions[Services];
        env.Server.SendRaw(Services, "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Serv"); // half an event (no newline), then the cut
        env.Server.Drop(Services);

        await Wait.UntilAsync(() => env.Server.WatchesOf(Services).Count() >= 2, "the reconnect", state: () => env.LogText);
        var reconnect = env.Server.WatchesOf(Services).ElementAt(1);
        Assert.Equal(lastSeen, reconnect.Query["resourceVersion"]);
        Assert.Equal(["web"], source.Current.Services.Select(s => s.Name.Name)); // state kept across the drop
        Assert.True(source.Counters.Errors >= 1);
        Assert.True(source.Counters.WatchRestarts >= 1);
        Assert.Equal(0, source.Counters.GoneRelists);
        Assert.Single(env.Server.ListsOf(Services)); // no re-list: the resource version is still good
        Assert.Equal(0, source.Counters.MalformedEvents); // a cut stream is not a malformed event

        // Events flow again on the new connection.
        env.Server.Event(Services, "ADDED", ApiObjects.Service("default", "api", "10.96.0.20"));
        await Wait.UntilAsync(() => source.Current.Services.Length == 2, "ADDED api after the reconnect");
    }

    [Fact]
    public async Task Repeated_failures_back_off_exponentially_up_to_the_cap()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        var source = env.Source(options: ApiTestEnvironment.FastOptions with
        {
            InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(400),
        });
        await source.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(() => env.Server.WatchesOf(Services).Any(), "the services watch");
        for (int i = 0; i < 4; i++)
            env.Server.FailNextWatch(Services, 500);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        env.Server.Drop(Services);

        await Wait.UntilAsync(() => env.Server.WatchesOf(Services).Count() >= 6, "five re-watches", state: () => env.LogText);
        // Delays: 100, 200, 400, 400, 400 ms, each ×[0.8, 1.2): at least 0.8 × 1500 ms in all.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(1200), $"re-watched after {clock.ElapsedMilliseconds} ms");
        Assert.True(source.Counters.Errors >= 5);
    }

    [Fact]
    public async Task A_malformed_event_is_counted_and_skipped_and_the_last_good_state_stays()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        env.Server.Put(Services, ApiObjects.Service("default", "web", "10.96.0.10"));
        var source = env.Source();
        await source.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(() => env.Server.WatchesOf(Services).Any(), "the services watch");

        env.Server.SendLine(Services, "{this is not json");
        var bad = ApiObjects.Service("default", "web", "10.96.0.10");
        bad["spec"]!["ports"]![0]!["port"] = "http"; // a port that is not a number
        env.Server.Event(Services, "MODIFIED", bad);
        env.Server.Event(Services, "ADDED", ApiObjects.Service("default", "after", "10.96.0.30"));

        await Wait.UntilAsync(() => source.Current.Services.Length == 2, "the event after the bad ones", state: () => env.LogText);
        Assert.Equal(2, source.Counters.MalformedEvents);
        var web = source.Current.FindService(new ServiceName("default", "web"))!;
        Assert.Equal(80, web.Ports.Single().Port); // the last good version
        Assert.Contains("Service default/web", env.LogText);
        Assert.Contains("spec.ports[0].port", env.LogText);
        Assert.Single(env.Server.WatchesOf(Services)); // skipped, not reconnected
    }

    [Fact]
    public async Task Every_request_carries_the_bearer_token()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        var source = env.Source();
        await source.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(() => KubeResource.All.All(r => env.Server.WatchesOf(r).Any()), "every watch");
        Assert.All(env.Server.Requests, r => Assert.Equal($"Bearer {FakeKubeApiServer.Token}", r.Authorization));
        Assert.Equal(8, env.Server.Requests.Count); // 4 lists + 4 watches
    }

    [Fact]
    public async Task A_refused_token_stops_start_up_with_an_error_naming_the_server_and_the_resource()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        var source = env.Source(env.Config(token: "wrong"));
        var error = await Assert.ThrowsAsync<KubeApiException>(() => source.StartAsync(CancellationToken.None));
        Assert.Equal(401, error.StatusCode);
        Assert.Contains(env.Server.Server.ToString(), error.Message);
        Assert.Contains("/api/v1/services", error.Message);
        Assert.Contains("Services", error.Message);
    }

    [Fact]
    public async Task A_forbidden_list_names_the_resource_and_the_missing_permission()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        env.Server.FailNextList(Slices, 403);
        var source = env.Source();
        var error = await Assert.ThrowsAsync<KubeApiException>(() => source.StartAsync(CancellationToken.None));
        Assert.Equal(403, error.StatusCode);
        Assert.Contains("/apis/discovery.k8s.io/v1/endpointslices", error.Message);
        Assert.Contains("ClusterRole", error.Message);
    }

    [Fact]
    public async Task An_unreachable_server_stops_start_up_with_an_error_naming_it()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        // A loopback port nobody listens on: bind one, note it, close it.
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var config = env.Config() with { Server = new Uri($"https://127.0.0.1:{port}") };
        var source = env.Source(config);
        var error = await Assert.ThrowsAsync<KubeApiException>(() => source.StartAsync(CancellationToken.None));
        Assert.Contains($"https://127.0.0.1:{port}", error.Message);
        Assert.Contains("Services", error.Message);
    }

    [Fact]
    public async Task A_server_with_a_certificate_from_another_CA_is_refused()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        var other = new Etcd.TestCertificates(Path.Combine(env.Directory, "other-pki"));
        var ca = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        ca.ImportFromPemFile(other.CaFile);
        var source = env.Source(env.Config() with { CertificateAuthorities = ca });
        var error = await Assert.ThrowsAsync<KubeApiException>(() => source.StartAsync(CancellationToken.None));
        Assert.Contains(env.Server.Server.ToString(), error.Message);
        Assert.Empty(env.Server.Requests); // no request crossed the untrusted connection
    }

    [Fact]
    public async Task Missing_Cilium_CRDs_do_not_stop_start_up_and_their_policies_arrive_once_they_are_served()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        env.Server.Put(KubeResource.CiliumNetworkPolicies, ApiObjects.NetworkPolicy("default", "allow-web", "web", 8080));
        env.Server.FailNextList(KubeResource.CiliumNetworkPolicies, 404); // CRD not installed (yet)
        var source = env.Source();
        await source.StartAsync(CancellationToken.None);
        Assert.Empty(source.Current.Policies);
        Assert.Contains("CRDs not found", env.LogText);

        await Wait.UntilAsync(() => source.Current.Policies.Length == 1, "the policy after the CRD appeared", state: () => env.LogText);
        Assert.Equal("allow-web", source.Current.Policies[0].Name);
    }
}

using System.Collections.Concurrent;
using FastPath.Addressing;
using FastPath.ControlPlane.Etcd;
using FastPath.ControlPlane.Kvstore;
using FastPath.ControlPlane.Tests.Etcd;
using static FastPath.ControlPlane.Tests.Kvstore.CiliumKeys;

namespace FastPath.ControlPlane.Tests.Kvstore;

/// <summary>
/// The clustermesh watcher against real etcd servers, one per remote cluster:
/// <code>
///   etcd "hk" (id 2) ──┐
///                      ├─► RemoteClusterWatcher × 2 (shared ClusterIdRegistry) ─► ClusterState / ClusterStatus
///   etcd "sg" (id 3) ──┘
/// </code>
/// Faults are provoked on purpose: bad values, killed etcd, compaction, missing canaries, silent heartbeat.
/// </summary>
public sealed class RemoteClusterWatcherTests
{
    private readonly ConcurrentQueue<string> _log = new();

    private KvstoreWatcherOptions FastOptions() => new()
    {
        BackoffUnit = TimeSpan.FromMilliseconds(100),
        HealthCheckInterval = TimeSpan.FromMilliseconds(100),
        Client = new EtcdClientOptions { DialTimeout = TimeSpan.FromSeconds(1), RequestTimeout = TimeSpan.FromSeconds(3) },
        Log = _log.Enqueue,
    };

    private static async Task SeedClusterAsync(EtcdClient etcd, string cluster, uint id, string backendIp, bool canaries = false)
    {
        uint identity = (id << 16) + 5;
        await etcd.PutAsync(ClusterConfigKey(cluster), ClusterConfig(id, canaries));
        await etcd.PutAsync(ServiceKey(cluster, "default", "bookstore"), Service(cluster, id, "default", "bookstore", backendIp));
        await etcd.PutAsync(NodeKey(cluster, "node-1"), Node(cluster, id, "node-1", "172.18.0.3"));
        await etcd.PutAsync(IdentityKey(identity), IdentityValue(cluster, "bookstore"));
        await etcd.PutAsync(IpKey(backendIp), IpCache(backendIp, identity, "172.18.0.3"));
        await etcd.PutAsync(IpKey("172.18.0.3"), IpCache("172.18.0.3", 1, "172.18.0.3", pod: ""));
    }

    [Fact]
    public async Task TwoClustersAreMirroredAndInvalidValuesAreRejectedCountedAndSkipped()
    {
        using var hkServer = new EtcdServer("hk");
        using var sgServer = new EtcdServer("sg");
        using var hk = new EtcdClient(hkServer.ClientConfig());
        using var sg = new EtcdClient(sgServer.ClientConfig());
        await SeedClusterAsync(hk, "hk", 2, "10.245.2.41");
        await SeedClusterAsync(sg, "sg", 3, "10.246.3.7");
        // Bad values in hk: each must be rejected with its own reason while the rest applies.
        await hk.PutAsync(ServiceKey("hk", "default", "wrong-cluster"), Service("sg", 2, "default", "wrong-cluster", "10.245.2.50"));
        await hk.PutAsync(ServiceKey("hk", "default", "wrong-id"), Service("hk", 9, "default", "wrong-id", "10.245.2.51"));
        await hk.PutAsync(ServiceKey("hk", "default", "bad-json"), "{\"cluster\":\"hk\",");
        await hk.PutAsync(ServiceKey("hk", "default", "renamed"), Service("hk", 2, "default", "other-name", "10.245.2.52"));
        await hk.PutAsync(ServiceKey("hk", "default", "private"), Service("hk", 2, "default", "private", "10.245.2.53", shared: false));
        await hk.PutAsync(IdentityKey((3u << 16) + 1), IdentityValue("hk", "out-of-range"));
        await hk.PutAsync(IdentityKey((2u << 16) + 9), IdentityValue("sg", "foreign-label"));

        var registry = new ClusterIdRegistry();
        await using var hkWatcher = new RemoteClusterWatcher("hk", hkServer.ClientConfig(), FastOptions(), registry);
        await using var sgWatcher = new RemoteClusterWatcher("sg", sgServer.ClientConfig(), FastOptions(), registry);
        hkWatcher.Start();
        sgWatcher.Start();
        await Wait.UntilAsync(() => hkWatcher.Status.Ready && sgWatcher.Status.Ready, "both clusters ready",
            state: () => $"hk: {hkWatcher.Status}; sg: {sgWatcher.Status}");

        var hkState = hkWatcher.State;
        Assert.Equal(2u, hkState.Id);
        Assert.Equal(new[] { "default/bookstore" }, hkState.Services.Keys);
        var bookstore = hkState.Services["default/bookstore"];
        Assert.Equal(NetAddress.Parse("10.245.2.41"), Assert.Single(bookstore.Backends).Key);
        Assert.Equal(new ClusterServicePortView("http", L4Protocol.Tcp, 8080), ClusterServicePortView.Of(bookstore.Backends.Single().Value.Single()));
        Assert.Equal(new[] { (2u << 16) + 5 }, hkState.Identities.Keys);
        Assert.Equal(new[] { "k8s:app=bookstore", "k8s:io.cilium.k8s.policy.cluster=hk", "k8s:io.kubernetes.pod.namespace=default" },
            hkState.Identities[(2u << 16) + 5].Labels);
        Assert.Equal((2u << 16) + 5, hkState.IpCache["10.245.2.41/32"].Identity);
        Assert.Equal(6u, hkState.IpCache["172.18.0.3/32"].Identity); // remote host → remote-node
        Assert.Equal("10.245.2.0/24", hkState.Nodes["node-1"].IPv4AllocCidr);

        var status = hkWatcher.Status;
        Assert.Equal(1, status.Rejections[RejectReason.ClusterMismatch]);
        Assert.Equal(1, status.Rejections[RejectReason.ClusterIdMismatch]);
        Assert.Equal(1, status.Rejections[RejectReason.MalformedJson]);
        Assert.Equal(1, status.Rejections[RejectReason.KeyMismatch]);
        Assert.Equal(1, status.Rejections[RejectReason.IdentityOutOfRange]);
        Assert.Equal(1, status.Rejections[RejectReason.IdentityClusterLabel]);
        Assert.Equal((1, 2, 1, 1), (status.NumServices, status.NumEndpoints, status.NumIdentities, status.NumNodes));

        Assert.Equal(3u, sgWatcher.State.Id);
        Assert.Equal(NetAddress.Parse("10.246.3.7"), sgWatcher.State.Services["default/bookstore"].Backends.Single().Key);
        Assert.Empty(sgWatcher.Status.Rejections);

        // Live: a bad update keeps the last good value, a good one replaces it, a delete removes it.
        string key = ServiceKey("hk", "default", "bookstore");
        await hk.PutAsync(key, "not json");
        await hk.PutAsync(ServiceKey("hk", "default", "web"), Service("hk", 2, "default", "web", "10.245.2.60"));
        await Wait.UntilAsync(() => hkWatcher.State.Services.ContainsKey("default/web"), "web service via watch");
        Assert.Equal(2, hkWatcher.Status.Rejections[RejectReason.MalformedJson]);
        Assert.Equal(NetAddress.Parse("10.245.2.41"), hkWatcher.State.Services["default/bookstore"].Backends.Single().Key);
        await hk.PutAsync(key, Service("hk", 2, "default", "bookstore", "10.245.2.42"));
        await hk.PutAsync(ServiceKey("hk", "default", "web"), Service("hk", 2, "default", "web", "10.245.2.60", shared: false));
        await Wait.UntilAsync(() => !hkWatcher.State.Services.ContainsKey("default/web")
            && hkWatcher.State.Services["default/bookstore"].Backends.ContainsKey(NetAddress.Parse("10.245.2.42")),
            "updated bookstore and unshared web");
        Assert.Single(_log, l => l.Contains(ServiceKey("hk", "default", "wrong-id")));
    }

    [Fact]
    public async Task AKilledEtcdLeavesStaleStateAndARestartReListsAndDeletesWhatDidNotComeBack()
    {
        using var server = new EtcdServer("kill");
        using (var etcd = new EtcdClient(server.ClientConfig()))
        {
            await SeedClusterAsync(etcd, "hk", 2, "10.245.2.41");
            await etcd.PutAsync(ServiceKey("hk", "default", "web"), Service("hk", 2, "default", "web", "10.245.2.60"));
        }
        // Backoff 1.5 s × attempt leaves time to restart etcd and change keys before the watcher is back.
        await using var watcher = new RemoteClusterWatcher("hk", server.ClientConfig(),
            FastOptions() with { BackoffUnit = TimeSpan.FromSeconds(1.5) });
        watcher.Start();
        await Wait.UntilAsync(() => watcher.Status.Ready, "ready", state: () => watcher.Status.ToString());
        var before = watcher.State;
        Assert.Equal(2, before.Services.Count);

        server.Kill();
        await Wait.UntilAsync(() => !watcher.Status.Connected && watcher.Status.NumFailures >= 1, "failure noticed",
            state: () => watcher.Status.ToString());
        var down = watcher.Status;
        Assert.False(down.Ready);
        Assert.NotNull(down.LastFailure);
        Assert.Same(before, watcher.State); // stale, not cleared

        server.Start();
        using (var etcd = new EtcdClient(server.ClientConfig()))
        {
            await etcd.DeleteAsync(ServiceKey("hk", "default", "web"));
            await etcd.DeleteAsync(IpKey("172.18.0.3"));
            await etcd.PutAsync(ServiceKey("hk", "default", "bookstore"), Service("hk", 2, "default", "bookstore", "10.245.2.99"));
        }
        await Wait.UntilAsync(() => watcher.Status.Ready && !watcher.State.Services.ContainsKey("default/web")
                && !watcher.State.IpCache.ContainsKey("172.18.0.3/32")
                && watcher.State.Services["default/bookstore"].Backends.ContainsKey(NetAddress.Parse("10.245.2.99")),
            "reconnect and re-list", TimeSpan.FromSeconds(20), () => watcher.Status.ToString());
        Assert.True(watcher.Status.NumFailures >= 1);
    }

    [Fact]
    public async Task WithSyncedCanariesAPrefixIsNotSyncedUntilItsCanaryExists()
    {
        using var server = new EtcdServer("canary");
        using var etcd = new EtcdClient(server.ClientConfig());
        await SeedClusterAsync(etcd, "hk", 2, "10.245.2.41", canaries: true);
        await etcd.PutAsync(CanaryKey("hk", "cilium/state/nodes/v1"), Now());
        await etcd.PutAsync(CanaryKey("hk", "cilium/state/identities/v1"), Now());
        await etcd.PutAsync(CanaryKey("hk", "cilium/state/ip/v1"), Now());

        await using var watcher = new RemoteClusterWatcher("hk", server.ClientConfig(), FastOptions());
        watcher.Start();
        await Wait.UntilAsync(() => watcher.Status.Synced.Nodes && watcher.Status.Synced.Identities && watcher.Status.Synced.Endpoints,
            "three prefixes synced", state: () => watcher.Status.ToString());
        var status = watcher.Status;
        Assert.True(status.SyncedCanaries);
        Assert.False(status.Synced.Services);
        Assert.False(status.Ready);
        Assert.Equal(1, status.NumServices); // listed, but not announced complete

        await etcd.PutAsync(CanaryKey("hk", "cilium/state/services/v1"), Now());
        await Wait.UntilAsync(() => watcher.Status.Synced.Services && watcher.Status.Ready, "services synced after canary",
            state: () => watcher.Status.ToString());
    }

    [Fact]
    public async Task AWatchStartingBeforeACompactionReListsAndConverges()
    {
        using var server = new EtcdServer("compact");
        using var etcd = new EtcdClient(server.ClientConfig());
        await SeedClusterAsync(etcd, "hk", 2, "10.245.2.41");
        int hooks = 0;
        var options = FastOptions() with
        {
            // First listing only: change keys and compact past the revision the watch will start from.
            BeforeWatchForTests = async revision =>
            {
                if (Interlocked.Increment(ref hooks) != 1)
                    return;
                await etcd.DeleteAsync(NodeKey("hk", "node-1"));
                await etcd.PutAsync(ServiceKey("hk", "default", "web"), Service("hk", 2, "default", "web", "10.245.2.60"));
                long last = await etcd.PutAsync(ServiceKey("hk", "default", "bookstore"), Service("hk", 2, "default", "bookstore", "10.245.2.77"));
                await etcd.CompactAsync(last);
            },
        };
        await using var watcher = new RemoteClusterWatcher("hk", server.ClientConfig(), options);
        watcher.Start();
        await Wait.UntilAsync(() => watcher.State.Services.ContainsKey("default/web") && watcher.State.Nodes.IsEmpty
                && watcher.State.Services["default/bookstore"].Backends.ContainsKey(NetAddress.Parse("10.245.2.77")),
            "convergence after compaction", state: () => watcher.Status.ToString());
        Assert.True(hooks >= 2, "the watcher listed again after the compaction");
        Assert.Contains(_log, l => l.Contains("compacted"));
        Assert.Equal(0, watcher.Status.NumFailures);
    }

    [Fact]
    public async Task ASilentHeartbeatTriggersAReconnectButKeepsTheState()
    {
        using var server = new EtcdServer("beat");
        using var etcd = new EtcdClient(server.ClientConfig());
        await SeedClusterAsync(etcd, "hk", 2, "10.245.2.41");
        await using var watcher = new RemoteClusterWatcher("hk", server.ClientConfig(),
            FastOptions() with { HeartbeatTimeout = TimeSpan.FromMilliseconds(700) });
        watcher.Start();
        await Wait.UntilAsync(() => watcher.Status.NumFailures >= 1, "heartbeat staleness failure", state: () => watcher.Status.ToString());
        Assert.Contains("heartbeat", watcher.Status.LastError);
        Assert.Single(watcher.State.Services);
    }

    [Fact]
    public async Task AClusterIdAlreadyUsedByAnotherClusterIsRefused()
    {
        using var server = new EtcdServer("dup");
        using var etcd = new EtcdClient(server.ClientConfig());
        await SeedClusterAsync(etcd, "hk", 2, "10.245.2.41");
        var registry = new ClusterIdRegistry();
        Assert.True(registry.TryClaim("tokyo", 2, out _));
        await using var watcher = new RemoteClusterWatcher("hk", server.ClientConfig(), FastOptions(), registry);
        watcher.Start();
        await Wait.UntilAsync(() => watcher.Status.NumFailures >= 1, "duplicate id failure");
        Assert.Contains("already used by cluster tokyo", watcher.Status.LastError);
        Assert.Empty(watcher.State.Services);
    }

    [Fact]
    public async Task AChangedClusterIdDrainsTheClusterState()
    {
        using var server = new EtcdServer("idchg");
        using var etcd = new EtcdClient(server.ClientConfig());
        await SeedClusterAsync(etcd, "hk", 2, "10.245.2.41");
        await using var watcher = new RemoteClusterWatcher("hk", server.ClientConfig(), FastOptions());
        watcher.Start();
        await Wait.UntilAsync(() => watcher.Status.Ready, "ready");
        await etcd.PutAsync(ClusterConfigKey("hk"), ClusterConfig(4));
        // Every value still says clusterID 2 / identity range of 2: under id 4 they are all invalid.
        // The drain publishes before the re-list under id 4 counts the rejections: wait for both.
        await Wait.UntilAsync(() => watcher.Status.Ready && watcher.Status.Rejections.ContainsKey(RejectReason.ClusterIdMismatch),
            "re-listed under the new id", state: () => watcher.Status.ToString());
        Assert.Equal(4u, watcher.State.Id);
        Assert.Empty(watcher.State.Services);
        Assert.Empty(watcher.State.Identities);
        Assert.True(watcher.Status.Rejections.ContainsKey(RejectReason.IdentityOutOfRange));
    }

    /// <summary>Value view of a port for equality assertions.</summary>
    private readonly record struct ClusterServicePortView(string Name, L4Protocol Protocol, ushort Port)
    {
        public static ClusterServicePortView Of(FastPath.ControlPlane.Mesh.ClusterServicePort p) => new(p.Name, p.Protocol, p.Port);
    }
}

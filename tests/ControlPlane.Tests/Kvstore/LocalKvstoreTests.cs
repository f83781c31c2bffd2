using FastPath.ControlPlane.Etcd;
using FastPath.ControlPlane.Kvstore;
using FastPath.ControlPlane.Tests.Etcd;
using static FastPath.ControlPlane.Tests.Kvstore.CiliumKeys;

namespace FastPath.ControlPlane.Tests.Kvstore;

/// <summary><c>--kvstore-config FILE</c>: the local cluster's identities, ipcache and nodes from its own etcd.</summary>
public sealed class LocalKvstoreTests
{
    [Fact]
    public async Task TheLocalClusterReadsIdentitiesIpCacheAndNodesWithoutAClusterConfig()
    {
        using var server = new EtcdServer("local");
        using var etcd = new EtcdClient(server.ClientConfig());
        uint identity = (1u << 16) + 7;
        await etcd.PutAsync(IdentityKey(identity), IdentityValue("tokyo", "client"));
        await etcd.PutAsync(IpKey("10.244.1.5"), IpCache("10.244.1.5", identity, "172.18.0.2"));
        await etcd.PutAsync(IpKey("172.18.0.2"), IpCache("172.18.0.2", 1, "172.18.0.2"));
        await etcd.PutAsync(NodeKey("tokyo", "n1"), Node("tokyo", 1, "n1", "172.18.0.2"));
        await etcd.PutAsync(ServiceKey("tokyo", "default", "web"), Service("tokyo", 1, "default", "web", "10.244.1.5"));

        string file = server.WriteClientConfig(Path.Combine(server.Root, "kvstore", "etcd.yaml"));
        await using var watcher = LocalKvstore.Create("tokyo", 1, file, new KvstoreWatcherOptions { Log = _ => { } });
        watcher.Start();
        var next = await watcher.Updates.ReadAsync(new CancellationTokenSource(Wait.Default).Token);
        await Wait.UntilAsync(() => watcher.Status.Ready, "local ready", state: () => watcher.Status.ToString());
        var state = watcher.State;
        Assert.Equal(1u, state.Id);
        Assert.Equal(identity, state.IpCache["10.244.1.5/32"].Identity);
        Assert.Equal(1u, state.IpCache["172.18.0.2/32"].Identity); // local host stays host
        Assert.Equal("tokyo", state.Identities[identity].LabelValue("io.cilium.k8s.policy.cluster"));
        Assert.Single(state.Nodes);
        Assert.Empty(state.Services); // services of the local cluster come from Kubernetes, not etcd
        Assert.Equal("tokyo", next.Name);
    }
}

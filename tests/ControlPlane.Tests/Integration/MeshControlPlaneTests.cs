using FastPath.Addressing;
using FastPath.ControlPlane.Etcd;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Kvstore;
using FastPath.ControlPlane.Runtime;
using FastPath.ControlPlane.Tests.Etcd;
using FastPath.ControlPlane.Tests.Kvstore;
using FastPath.Maglev;
using FastPath.Snapshot;
using static FastPath.ControlPlane.Tests.Integration.MeshManifests;

namespace FastPath.ControlPlane.Tests.Integration;

/// <summary>
/// The whole control plane against real etcd: manifests + kvstores → merge → compile → published snapshot.
/// <code>
///   tokyo (local, id 1)                              remote etcds (mTLS)
///   manifests/services.yaml  bookstore (global)      hk (id 2): cilium/cluster-config/hk
///   manifests/slices.yaml    (added/removed)                    cilium/state/services/v1/hk/default/bookstore
///   clustermesh/hk, clustermesh/sg ───────────────►  sg (id 3): the same for sg
///                  │
///   MeshControlPlane ─► publish(ForwardingSnapshot) ─► test reads the ClusterIP's Maglev table
/// </code>
/// Each step changes one source and waits (bounded) until the published table holds exactly the expected backends.
/// </summary>
public sealed class MeshControlPlaneTests : IDisposable
{
    private const string Tokyo = PlaneWorld.Tokyo;
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(20);
    private readonly PlaneWorld _world = new("mesh");

    private string Manifests => _world.Manifests;
    private string MeshDir => _world.MeshDir;

    public void Dispose() => _world.Dispose();

    /// <summary>One step of a scenario: what changes, and the backends (ip, cluster id) the table must then hold.</summary>
    private sealed record Step(string Description, Func<Task> Change, params (string Ip, ushort ClusterId)[] Expected);

    [Fact]
    public async Task AGlobalServiceFollowsRemoteBackendsThroughAffinityFallbackReturnAndUnsharing()
    {
        using var hk = new EtcdServer("mesh-hk");
        using var hkClient = new EtcdClient(hk.ClientConfig());
        await hkClient.PutAsync(CiliumKeys.ClusterConfigKey("hk"), CiliumKeys.ClusterConfig(2));
        await hkClient.PutAsync(HkKey, ClusterService("hk", 2, shared: true, "10.245.2.41", "10.245.2.42"));
        File.WriteAllText(Path.Combine(Manifests, "services.yaml"), BookstoreService());
        hk.WriteClientConfig(Path.Combine(MeshDir, "hk"));

        await using var plane = CreatePlane();
        await plane.StartAsync(CancellationToken.None);
        Assert.Equal(1, plane.Status.GlobalServices);

        string slices = Path.Combine(Manifests, "slices.yaml");
        var steps = new Step[]
        {
            new("seed 000: no local endpoints, hk's backends only", () => Task.CompletedTask,
                ("10.245.2.41", 2), ("10.245.2.42", 2)),
            new("a local EndpointSlice joins: both clusters", () => Write(slices, BookstoreSlice("10.244.1.5", "10.244.1.6")),
                ("10.244.1.5", 1), ("10.244.1.6", 1), ("10.245.2.41", 2), ("10.245.2.42", 2)),
            new("affinity local: tokyo only", () => Write(Path.Combine(Manifests, "services.yaml"), BookstoreService("local")),
                ("10.244.1.5", 1), ("10.244.1.6", 1)),
            new("local slice deleted: fallback to hk", () => Delete(slices),
                ("10.245.2.41", 2), ("10.245.2.42", 2)),
            new("local slice restored: return to tokyo", () => Write(slices, BookstoreSlice("10.244.1.5", "10.244.1.6")),
                ("10.244.1.5", 1), ("10.244.1.6", 1)),
            new("affinity none again: both clusters", () => Write(Path.Combine(Manifests, "services.yaml"), BookstoreService()),
                ("10.244.1.5", 1), ("10.244.1.6", 1), ("10.245.2.41", 2), ("10.245.2.42", 2)),
            new("hk writes shared:false: tokyo loses hk's backends",
                () => hkClient.PutAsync(HkKey, ClusterService("hk", 2, shared: false, "10.245.2.41", "10.245.2.42")),
                ("10.244.1.5", 1), ("10.244.1.6", 1)),
            new("hk shares again with one backend", () => hkClient.PutAsync(HkKey, ClusterService("hk", 2, shared: true, "10.245.2.43")),
                ("10.244.1.5", 1), ("10.244.1.6", 1), ("10.245.2.43", 2)),
            new("hk deletes its entry: tokyo loses hk's backends", () => hkClient.DeleteAsync(HkKey),
                ("10.244.1.5", 1), ("10.244.1.6", 1)),
        };
        await RunAsync(plane, steps);

        MeshStatus status = plane.Status;
        Assert.Equal(1, status.TotalRemotes);
        Assert.Equal(1, status.ReadyRemotes);
        Assert.Equal(0, status.CompileFailures);
        Assert.Equal(2u, status.Remotes[0].ClusterId);
    }

    [Fact]
    public async Task TwoRemoteClustersMergeAndADownRemoteKeepsItsBackendsUntilItsFileIsRemoved()
    {
        using var hk = new EtcdServer("mesh2-hk");
        using var sg = new EtcdServer("mesh2-sg");
        using (var c = new EtcdClient(hk.ClientConfig()))
        {
            await c.PutAsync(CiliumKeys.ClusterConfigKey("hk"), CiliumKeys.ClusterConfig(2));
            await c.PutAsync(HkKey, ClusterService("hk", 2, shared: true, "10.245.2.41"));
        }
        using (var c = new EtcdClient(sg.ClientConfig()))
        {
            await c.PutAsync(CiliumKeys.ClusterConfigKey("sg"), CiliumKeys.ClusterConfig(3));
            await c.PutAsync(CiliumKeys.ServiceKey("sg", "default", "bookstore"), ClusterService("sg", 3, shared: true, "10.246.0.7", "10.246.0.8"));
        }
        File.WriteAllText(Path.Combine(Manifests, "services.yaml"), BookstoreService());
        File.WriteAllText(Path.Combine(Manifests, "slices.yaml"), BookstoreSlice("10.244.1.5"));
        hk.WriteClientConfig(Path.Combine(MeshDir, "hk"));
        sg.WriteClientConfig(Path.Combine(MeshDir, "sg"));

        await using var plane = CreatePlane();
        await plane.StartAsync(CancellationToken.None);

        var steps = new Step[]
        {
            new("tokyo + hk + sg", () => Task.CompletedTask,
                ("10.244.1.5", 1), ("10.245.2.41", 2), ("10.246.0.7", 3), ("10.246.0.8", 3)),
            new("sg's etcd killed: its last known backends stay", async () =>
                {
                    sg.Kill();
                    await Wait.UntilAsync(() => plane.Status.ReadyRemotes == 1, "sg not ready",
                        StepTimeout, () => string.Join("; ", plane.Status.Remotes));
                },
                ("10.244.1.5", 1), ("10.245.2.41", 2), ("10.246.0.7", 3), ("10.246.0.8", 3)),
            new("sg's config file removed: sg drained", () => Delete(Path.Combine(MeshDir, "sg")),
                ("10.244.1.5", 1), ("10.245.2.41", 2)),
        };
        await RunAsync(plane, steps);
        Assert.Equal(1, plane.Status.TotalRemotes);
        Assert.Equal(["hk"], plane.ClusterStates.Select(c => c.Name));
    }

    [Fact]
    public async Task IdentitiesFromTheLocalAndRemoteKvstoresAreExposedAndDoNotRecompileTheSnapshot()
    {
        using var tokyo = new EtcdServer("mesh-local");
        using var hk = new EtcdServer("mesh-id-hk");
        using var tokyoClient = new EtcdClient(tokyo.ClientConfig());
        using var hkClient = new EtcdClient(hk.ClientConfig());
        uint tokyoIdentity = (1u << 16) + 7, hkIdentity = (2u << 16) + 9;
        await tokyoClient.PutAsync(CiliumKeys.IdentityKey(tokyoIdentity), CiliumKeys.IdentityValue(Tokyo, "client"));
        await tokyoClient.PutAsync(CiliumKeys.IpKey("10.244.1.5"), CiliumKeys.IpCache("10.244.1.5", tokyoIdentity, "172.18.0.2"));
        await hkClient.PutAsync(CiliumKeys.ClusterConfigKey("hk"), CiliumKeys.ClusterConfig(2));
        await hkClient.PutAsync(HkKey, ClusterService("hk", 2, shared: true, "10.245.2.41"));
        await hkClient.PutAsync(CiliumKeys.IdentityKey(hkIdentity), CiliumKeys.IdentityValue("hk", "bookstore"));
        File.WriteAllText(Path.Combine(Manifests, "services.yaml"), BookstoreService());
        hk.WriteClientConfig(Path.Combine(MeshDir, "hk"));
        string kvstore = tokyo.WriteClientConfig(Path.Combine(_world.Root, "kvstore", "etcd.yaml"));

        await using var plane = CreatePlane(kvstore);
        await plane.StartAsync(CancellationToken.None);
        await RunAsync(plane, [new Step("hk's backend arrives", () => Task.CompletedTask, ("10.245.2.41", 2))]);
        await Wait.UntilAsync(() => plane.Status.Local is { Ready: true } && plane.ClusterStates.Length == 2
                && plane.ClusterStates[0].Identities.ContainsKey(tokyoIdentity) && plane.ClusterStates[1].Identities.ContainsKey(hkIdentity),
            "local and hk identities", StepTimeout, () => $"{plane.Status.Local}; {string.Join("; ", plane.Status.Remotes)}");
        Assert.Equal([Tokyo, "hk"], plane.ClusterStates.Select(c => c.Name));
        Assert.Equal(tokyoIdentity, plane.ClusterStates[0].IpCache["10.244.1.5/32"].Identity);

        // A new identity changes no merge input and (no policies) no policy input: no new snapshot is compiled for it.
        long revision = plane.Revision;
        uint newIdentity = (2u << 16) + 10;
        await hkClient.PutAsync(CiliumKeys.IdentityKey(newIdentity), CiliumKeys.IdentityValue("hk", "reviews"));
        await Wait.UntilAsync(() => plane.ClusterStates[1].Identities.ContainsKey(newIdentity), "hk's new identity", StepTimeout);
        await Task.Delay(200);
        Assert.Equal(revision, plane.Revision);
    }

    [Fact]
    public async Task ABadManifestAtStartUpStopsStartUpNamingTheFile()
    {
        File.WriteAllText(Path.Combine(Manifests, "broken.yaml"), "apiVersion: v1\nkind: Service\nmetadata: [not, a, map\n");
        await using var plane = CreatePlane();
        var e = await Assert.ThrowsAsync<ManifestException>(() => plane.StartAsync(CancellationToken.None));
        Assert.Contains("broken.yaml", e.Message);
        Assert.Null(_world.Latest);
    }

    private static string HkKey => CiliumKeys.ServiceKey("hk", "default", "bookstore");

    private MeshControlPlane CreatePlane(string? kvstoreConfig = null) => _world.CreatePlane(kvstoreConfig);

    private async Task RunAsync(MeshControlPlane plane, Step[] steps)
    {
        foreach (Step step in steps)
        {
            await step.Change();
            var expected = step.Expected.Select(e => $"{e.Ip}:{Port}@{e.ClusterId}").Order().ToArray();
            string[] actual = [];
            await Wait.UntilAsync(() => (actual = TableBackends()).SequenceEqual(expected), step.Description, StepTimeout,
                () => $"table holds [{string.Join(", ", actual)}], expected [{string.Join(", ", expected)}]; {plane.Status}: " +
                      string.Join("; ", plane.Status.Remotes));
        }
    }

    /// <summary>The distinct backends the ClusterIP's Maglev table points at, as "ip:port@clusterId", sorted.</summary>
    private string[] TableBackends()
    {
        ForwardingSnapshot? snapshot = _world.Latest;
        if (snapshot is null)
            return [];
        NetAddress vip = NetAddress.Parse(ClusterIp);
        FrontendEntry? frontend = snapshot.FindFrontend(vip, System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((ushort)Port), (byte)L4Protocol.Tcp);
        if (frontend is null)
            return ["<no frontend>"];
        var ids = new HashSet<uint>();
        foreach (uint id in frontend.Table)
            if (id != 0)
                ids.Add(id);
        return ids.Select(id => snapshot.Backend(id))
            .Select(b => $"{b.Address}:{b.Port}@{b.ClusterId}")
            .Order().ToArray();
    }

    private static Task Write(string path, string text) => PlaneWorld.Write(path, text);

    private static Task Delete(string path)
    {
        File.Delete(path);
        return Task.CompletedTask;
    }
}

using System.Collections.Concurrent;
using Datapath.Tests.Infrastructure;
using FastPath.Addressing;
using FastPath.ControlPlane.Etcd;
using FastPath.ControlPlane.Identity;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Kvstore;
using FastPath.ControlPlane.Policy;
using FastPath.ControlPlane.Runtime;
using FastPath.ControlPlane.Tests.Etcd;
using FastPath.ControlPlane.Tests.Kvstore;
using FastPath.Maglev;
using FastPath.Policy;
using FastPath.Snapshot;
using static FastPath.ControlPlane.Tests.Integration.MeshManifests;

namespace FastPath.ControlPlane.Tests.Integration;

/// <summary>
/// Policy through the whole control plane against real etcd (issue 4):
/// <code>
///   tokyo etcd (local, id 1): netshoot 65543 @10.244.1.5, bookstore 65544 @10.244.1.6
///   hk etcd (remote, id 2):   bookstore 131081 @10.245.2.41, hk's node 172.19.0.3 = host (→ remote-node)
///   manifests: bookstore (global) + a CNP "netshoot → bookstore [in tokyo]"
///        ──► MeshControlPlane ──► published snapshot: Policy (verdicts) + IpCache + PolicyRevision
/// </code>
/// </summary>
public sealed class PolicyControlPlaneTests : IDisposable
{
    private const string Tokyo = PlaneWorld.Tokyo;
    private const uint Client = (1u << 16) + 7, TokyoBookstore = (1u << 16) + 8, HkBookstore = (2u << 16) + 9;
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(20);
    private readonly PlaneWorld _world = new("policy");
    private readonly ConcurrentQueue<string> _log = new();

    private string Manifests => _world.Manifests;
    private string MeshDir => _world.MeshDir;
    private string PolicyFile => Path.Combine(Manifests, "policy.yaml");

    public void Dispose() => _world.Dispose();

    /// <summary>Seed 000's egress policy on <see cref="Port"/>; <paramref name="cluster"/> null = bookstore in any cluster.</summary>
    private static string NetshootPolicy(string? cluster, string protocol = "TCP") =>
        Seed000Objects.NetshootToBookstore("netshoot-to-bookstore", cluster, port: Port, protocol: protocol);

    [Fact]
    public async Task APolicyOverLocalAndRemoteIdentitiesIsPublishedAndFollowsPolicyIdentityAndMalformedChanges()
    {
        using var tokyo = new EtcdServer("pol-local");
        using var hk = new EtcdServer("pol-hk");
        using var tokyoClient = new EtcdClient(tokyo.ClientConfig());
        using var hkClient = new EtcdClient(hk.ClientConfig());
        await tokyoClient.PutAsync(CiliumKeys.IdentityKey(Client), CiliumKeys.IdentityValue(Tokyo, "netshoot"));
        await tokyoClient.PutAsync(CiliumKeys.IdentityKey(TokyoBookstore), CiliumKeys.IdentityValue(Tokyo, "bookstore"));
        await tokyoClient.PutAsync(CiliumKeys.IpKey("10.244.1.5"), CiliumKeys.IpCache("10.244.1.5", Client, "172.18.0.2", "netshoot"));
        await tokyoClient.PutAsync(CiliumKeys.IpKey("10.244.1.6"), CiliumKeys.IpCache("10.244.1.6", TokyoBookstore, "172.18.0.2"));
        await hkClient.PutAsync(CiliumKeys.ClusterConfigKey("hk"), CiliumKeys.ClusterConfig(2));
        await hkClient.PutAsync(CiliumKeys.ServiceKey("hk", "default", "bookstore"), ClusterService("hk", 2, shared: true, "10.245.2.41"));
        await hkClient.PutAsync(CiliumKeys.IdentityKey(HkBookstore), CiliumKeys.IdentityValue("hk", "bookstore"));
        await hkClient.PutAsync(CiliumKeys.IpKey("10.245.2.41"), CiliumKeys.IpCache("10.245.2.41", HkBookstore, "172.19.0.3"));
        await hkClient.PutAsync(CiliumKeys.IpKey("172.19.0.3"), CiliumKeys.IpCache("172.19.0.3", 1, "172.19.0.3", ""));
        File.WriteAllText(Path.Combine(Manifests, "services.yaml"), BookstoreService() + "---\n" + BookstoreSlice("10.244.1.6"));
        File.WriteAllText(PolicyFile, NetshootPolicy(Tokyo));
        hk.WriteClientConfig(Path.Combine(MeshDir, "hk"));
        string kvstore = tokyo.WriteClientConfig(Path.Combine(_world.Root, "kvstore", "etcd.yaml"));

        await using var plane = CreatePlane(kvstore);
        await plane.StartAsync(CancellationToken.None);

        // Seed 000: netshoot may reach tokyo's bookstore only; hk's is denied (egress default deny).
        await Wait.UntilAsync(() => Latest is { } s && s.IpCache.Lookup(NetAddress.Parse("10.245.2.41")) == HkBookstore
                && Allowed(s, HkBookstore) == false && Allowed(s, TokyoBookstore) == true,
            "verdicts over both clusters' identities", StepTimeout, Describe(plane));
        ForwardingSnapshot first = Latest!;
        Assert.Equal(Client, first.IpCache.Lookup(NetAddress.Parse("10.244.1.5")));
        Assert.Equal(ReservedIdentities.RemoteNode, first.IpCache.Lookup(NetAddress.Parse("172.19.0.3")));
        Assert.Equal(ReservedIdentities.World, first.IpCache.Lookup(NetAddress.Parse("192.0.2.1")));
        Assert.False(first.Policy.IsAllowed(Client, Direction.Egress, L4Protocol.Tcp, Port + 1, TokyoBookstore));
        // Bookstore has no ingress rule: its ingress is open.
        Assert.True(first.Policy.IsAllowed(HkBookstore, Direction.Ingress, L4Protocol.Tcp, Port, Client));

        // An identity no selector cares about changes nothing: no new policy revision.
        long policyRevision = first.PolicyRevision;
        await hkClient.PutAsync(CiliumKeys.IdentityKey(HkBookstore + 1), CiliumKeys.IdentityValue("hk", "reviews"));
        await Wait.UntilAsync(() => plane.ClusterStates.Any(c => c.Identities.ContainsKey(HkBookstore + 1)), "hk's reviews identity", StepTimeout);
        await Task.Delay(300);
        Assert.Equal(policyRevision, Latest!.PolicyRevision);

        // The policy changes to "any cluster": hk's bookstore becomes allowed, in a new policy revision.
        await Write(PolicyFile, NetshootPolicy(cluster: null));
        await Wait.UntilAsync(() => Allowed(Latest!, HkBookstore) == true, "any-cluster policy", StepTimeout, Describe(plane));
        long anyClusterRevision = Latest!.PolicyRevision;
        Assert.True(anyClusterRevision > policyRevision);

        // A new identity the policy selects is compiled in (identity-only changes recompile).
        uint hkBookstore2 = HkBookstore + 2;
        await hkClient.PutAsync(CiliumKeys.IdentityKey(hkBookstore2), CiliumKeys.IdentityValue("hk", "bookstore"));
        await Wait.UntilAsync(() => Allowed(Latest!, hkBookstore2) == true, "hk's second bookstore identity", StepTimeout, Describe(plane));

        // A malformed policy at runtime: logged once and counted; the last good set (any cluster) stays in force.
        long beforeMalformed = Latest!.PolicyRevision;
        await Write(PolicyFile, NetshootPolicy(cluster: null, protocol: "ICMP"));
        await Wait.UntilAsync(() => plane.Status.PolicyParseFailures == 1, "malformed policy reported", StepTimeout, Describe(plane));
        await hkClient.PutAsync(CiliumKeys.IdentityKey(HkBookstore + 3), CiliumKeys.IdentityValue("hk", "ratings"));
        await Wait.UntilAsync(() => plane.ClusterStates.Any(c => c.Identities.ContainsKey(HkBookstore + 3)), "hk's ratings identity", StepTimeout);
        await Task.Delay(300);
        Assert.Equal(1, plane.Status.PolicyParseFailures);
        Assert.Single(_log, m => m.Contains("policy.yaml doc 1") && m.Contains("ICMP"));
        Assert.True(Allowed(Latest!, HkBookstore));
        Assert.Equal(beforeMalformed, Latest!.PolicyRevision);

        // Fixed again (tokyo only): hk's bookstores are denied once more.
        await Write(PolicyFile, NetshootPolicy(Tokyo));
        await Wait.UntilAsync(() => Allowed(Latest!, HkBookstore) == false && Allowed(Latest!, hkBookstore2) == false,
            "tokyo-only policy restored", StepTimeout, Describe(plane));
        Assert.True(Allowed(Latest!, TokyoBookstore));
        Assert.Equal(0, plane.Status.CompileFailures);
    }

    [Fact]
    public async Task AMalformedPolicyAtStartUpStopsStartUpNamingTheFileDocumentAndPath()
    {
        File.WriteAllText(Path.Combine(Manifests, "services.yaml"), BookstoreService());
        File.WriteAllText(PolicyFile, NetshootPolicy(Tokyo, protocol: "ICMP"));
        await using var plane = CreatePlane(kvstoreConfig: null);
        var e = await Assert.ThrowsAsync<PolicyParseException>(() => plane.StartAsync(CancellationToken.None));
        Assert.Equal("policy.yaml", e.File);
        Assert.Contains("policy.yaml doc 1: spec.egress[0].toPorts[0].ports[0].protocol", e.Message);
        Assert.Null(Latest);
    }

    [Fact]
    public async Task AnL7PolicyIsWarnedAboutOnceAcrossRecompiles()
    {
        File.WriteAllText(Path.Combine(Manifests, "services.yaml"), BookstoreService());
        File.WriteAllText(PolicyFile, NetshootPolicy(Tokyo).Replace($"protocol: TCP\n", "protocol: TCP\n      rules:\n        http:\n        - method: GET\n"));
        await using var plane = CreatePlane(kvstoreConfig: null);
        await plane.StartAsync(CancellationToken.None);
        await Write(Path.Combine(Manifests, "services.yaml"), BookstoreService("local"));
        await Wait.UntilAsync(() => plane.Revision >= 2, "second compile", StepTimeout, Describe(plane));
        Assert.Single(_log, m => m.Contains("default/netshoot-to-bookstore") && m.Contains("L4"));
    }

    private ForwardingSnapshot? Latest => _world.Latest;

    private static bool? Allowed(ForwardingSnapshot s, uint bookstore) =>
        s.Policy.IsAllowed(Client, Direction.Egress, L4Protocol.Tcp, Port, bookstore);

    private Func<string> Describe(MeshControlPlane plane) => () =>
        $"{plane.Status}; policy revision {Latest?.PolicyRevision}; identities {plane.Policy.Tables.Entries.Length} entries; " +
        $"log: {string.Join(" | ", _log)}";

    private MeshControlPlane CreatePlane(string? kvstoreConfig) => _world.CreatePlane(kvstoreConfig, _log.Enqueue);

    private static Task Write(string path, string text) => PlaneWorld.Write(path, text);
}

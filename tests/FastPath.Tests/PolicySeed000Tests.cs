using System.Collections.Immutable;
using FastPath.Addressing;
using FastPath.ControlPlane.Compile;
using FastPath.ControlPlane.Identity;
using FastPath.ControlPlane.Model;
using FastPath.ControlPlane.Policy;
using FastPath.Maglev;
using FastPath.Pipeline;
using FastPath.Policy;
using FastPath.Snapshot;
using FastPath.Tests.Fixtures;
using static FastPath.Tests.Fixtures.PipelineRig;

namespace FastPath.Tests;

/// <summary>
/// Seed 000 end to end without a kernel: the seed's own policy file (tests/ControlPlane.Tests/
/// TestData/Policy/seed000-bookstore-tokyo.yaml: netshoot may reach only tokyo-cluster's bookstore)
/// → PolicyCompiler → SnapshotCompiler (with the ipcache and --lb-policy-aware-selection) → pipeline.
///
///   netshoot 10.0.0.1 (tokyo) ──► VIP 10.96.0.10:80 (bookstore, global, affinity none)
///                                   ├─ 10.244.1.1:8080 tokyo-cluster bookstore  (allowed)
///                                   └─ 10.244.2.2:8080 hk-cluster bookstore     (denied by netshoot's egress)
///   other 10.0.0.2 (tokyo, no policy selects it)
/// </summary>
public class PolicySeed000Tests
{
    private const int Flows = 400;
    private static readonly uint NetshootTokyo = Id(1, 10), BookstoreTokyo = Id(1, 11), OtherTokyo = Id(1, 13);
    private static readonly uint NetshootHk = Id(2, 10), BookstoreHk = Id(2, 11);

    private static uint Id(int cluster, uint local) => IdentityLayout.Clusters255.RangeOf(cluster).First + local;

    private static KeyValuePair<uint, LabelSet> Endpoint(int cluster, uint local, string clusterName, string app) =>
        new(Id(cluster, local), LabelSet.Create($"k8s:app={app}", $"k8s:{Label.ClusterKey}={clusterName}", $"k8s:{Label.NamespaceKey}=default"));

    private static string SeedFile(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FastPath.sln")))
            dir = dir.Parent;
        Assert.NotNull(dir);
        return Path.Combine(dir!.FullName, "tests", "ControlPlane.Tests", "TestData", "Policy", name);
    }

    private static PolicyTables Seed000Policy()
    {
        var identities = IdentityTable.Create(new[]
        {
            Endpoint(1, 10, "tokyo-cluster", "netshoot"), Endpoint(1, 11, "tokyo-cluster", "bookstore"),
            Endpoint(1, 13, "tokyo-cluster", "other"),
            Endpoint(2, 10, "hk-cluster", "netshoot"), Endpoint(2, 11, "hk-cluster", "bookstore"),
        });
        var parsed = PolicyParser.ParseText(File.ReadAllText(SeedFile("seed000-bookstore-tokyo.yaml")), "seed000-bookstore-tokyo.yaml");
        return PolicyCompiler.Compile(parsed.Policies, identities, "tokyo-cluster", new PolicyOptions(), revision: 1);
    }

    private static IpCache Seed000IpCache() => new IpCacheBuilder()
        .Add("10.0.0.1", NetshootTokyo).Add("10.0.0.2", OtherTokyo)
        .Add("10.244.1.1", BookstoreTokyo).Add("10.244.2.2", BookstoreHk, fromRemoteCluster: true)
        .Build();

    private static DesiredState Bookstore() => new(1, ImmutableArray.Create(new DesiredFrontend(
        new ServiceName("default", "bookstore"), Vip4, 80, L4Protocol.Tcp, "http",
        ImmutableArray.Create(new BackendSpec(Backend1, 8080, L4Protocol.Tcp, "tokyo-cluster"), new BackendSpec(Backend2, 8080, L4Protocol.Tcp, "hk-cluster")),
        ImmutableArray.Create(new BackendSpec(Backend1, 8080, L4Protocol.Tcp, "tokyo-cluster"), new BackendSpec(Backend2, 8080, L4Protocol.Tcp, "hk-cluster")),
        Global: true, Affinity: ServiceAffinity.None)));

    private static SnapshotCompiler NewCompiler() =>
        new(MaglevParameters.Default, cluster => cluster == "tokyo-cluster" ? (ushort)1 : (ushort)2);

    /// <summary>New flows from one client over many source ports: (forwarded per backend address, policy drops).</summary>
    private static (Dictionary<NetAddress, int> PerBackend, long PolicyDrops, PipelineRig Rig) Connect(ForwardingSnapshot snapshot, string client)
    {
        var rig = new PipelineRig(ctCapacity: 1 << 12);
        var perBackend = new Dictionary<NetAddress, int>();
        for (int port = 20000; port < 20000 + Flows; port++)
        {
            byte[] frame = ToVip(port, client: client).Build();
            var result = rig.Run(snapshot, frame, ClientSlot);
            rig.Pipeline.ClearPending();
            if (result.Verdict == Verdict.Forward)
            {
                var backend = FrameView.Of(frame).Destination;
                perBackend[backend] = perBackend.GetValueOrDefault(backend) + 1;
            }
        }
        return (perBackend, rig.Pipeline.Counters.Dropped(DropReason.PolicyDenied), rig);
    }

    [Fact]
    public void Without_policy_aware_selection_netshoot_sees_intermittent_policy_drops_for_hk_backends()
    {
        var snapshot = NewCompiler().Compile(Bookstore(), new PolicyInputs(Seed000Policy(), Seed000IpCache()));

        var (perBackend, drops, rig) = Connect(snapshot, "10.0.0.1");

        // Maglev spreads flows over both clusters; the hk half is denied by netshoot's egress policy.
        Assert.InRange(drops, Flows / 4, Flows * 3 / 4);
        Assert.Equal(Flows - drops, Assert.Single(perBackend, kv => kv.Key == Backend1).Value);
        Assert.DoesNotContain(Backend2, perBackend.Keys);
        Assert.Equal(drops, rig.Pipeline.Counters.PolicyDeniedEgress);
        var events = PolicyEnforcementTests.ReadAll(rig.Pipeline.Events).Where(e => e.DropReason == DropReason.PolicyDenied).ToArray();
        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.Equal((NetshootTokyo, BookstoreHk, Backend2), (e.SourceIdentity, e.DestinationIdentity, e.Backend)));
    }

    [Fact]
    public void With_policy_aware_selection_every_netshoot_flow_goes_to_tokyo_and_none_is_dropped()
    {
        var snapshot = NewCompiler().Compile(Bookstore(), new PolicyInputs(Seed000Policy(), Seed000IpCache(), PolicyAwareSelection: true));

        var (perBackend, drops, rig) = Connect(snapshot, "10.0.0.1");

        Assert.Equal(0, drops);
        Assert.Equal(0, rig.Pipeline.Counters.TotalDrops);
        Assert.Equal(Flows, Assert.Single(perBackend).Value);
        Assert.Equal(Backend1, perBackend.Keys.Single());
    }

    [Fact]
    public void Policy_aware_selection_leaves_unrestricted_clients_on_the_full_table()
    {
        var snapshot = NewCompiler().Compile(Bookstore(), new PolicyInputs(Seed000Policy(), Seed000IpCache(), PolicyAwareSelection: true));

        FrontendEntry frontend = Assert.Single(snapshot.Frontends);
        Assert.Equal(1, frontend.IdentityTableCount); // netshoot (tokyo) only: the one restricted identity in the ipcache
        uint[] netshootTable = frontend.IdentityTableOrNull(NetshootTokyo)!;
        Assert.All(netshootTable, id => Assert.Equal(snapshot.Backend(id).Address, Backend1));
        Assert.Null(frontend.IdentityTableOrNull(OtherTokyo));
        Assert.Null(frontend.IdentityTableOrNull(IpCache.WorldIdentity));

        var (perBackend, drops, _) = Connect(snapshot, "10.0.0.2");
        Assert.Equal(0, drops);
        Assert.Equal(2, perBackend.Count);
        Assert.Equal(Flows, perBackend.Values.Sum());
    }

    [Fact]
    public void Compiler_bumps_the_policy_revision_only_when_the_policy_inputs_change()
    {
        var compiler = NewCompiler();
        var tables = Seed000Policy();
        var ipcache = Seed000IpCache();

        Assert.Equal(0, compiler.Compile(Bookstore()).PolicyRevision);
        var first = compiler.Compile(Bookstore(), new PolicyInputs(tables, ipcache));
        Assert.Equal(1, first.PolicyRevision);
        Assert.Same(tables.Verdicts, first.Policy);
        Assert.Same(ipcache, first.IpCache);
        Assert.Equal(1, compiler.Compile(Bookstore(), new PolicyInputs(tables, ipcache)).PolicyRevision);
        Assert.Equal(1, compiler.Compile(Bookstore()).PolicyRevision); // services only: policy stays in force
        Assert.Same(tables.Verdicts, compiler.Compile(Bookstore()).Policy);
        Assert.Equal(2, compiler.Compile(Bookstore(), new PolicyInputs(tables, Seed000IpCache())).PolicyRevision);
        Assert.Equal(3, compiler.Compile(Bookstore(), new PolicyInputs(tables, compiler.Compile(Bookstore()).IpCache, true)).PolicyRevision);
        Assert.Equal(4, compiler.Compile(Bookstore(), PolicyInputs.None).PolicyRevision);
    }

    [Fact]
    public void Policy_change_from_the_any_cluster_seed_to_the_tokyo_seed_stops_flows_already_on_hk()
    {
        var compiler = NewCompiler();
        var identities = IdentityTable.Create(new[]
        {
            Endpoint(1, 10, "tokyo-cluster", "netshoot"), Endpoint(1, 11, "tokyo-cluster", "bookstore"), Endpoint(2, 11, "hk-cluster", "bookstore"),
        });
        var anyCluster = PolicyParser.ParseText(File.ReadAllText(SeedFile("seed000-bookstore-any-cluster.yaml")), "any");
        var ipcache = Seed000IpCache();
        var before = compiler.Compile(Bookstore(), new PolicyInputs(
            PolicyCompiler.Compile(anyCluster.Policies, identities, "tokyo-cluster", new PolicyOptions(), 1), ipcache));
        var after = compiler.Compile(Bookstore(), new PolicyInputs(Seed000Policy(), ipcache));

        var (perBackend, drops, rig) = Connect(before, "10.0.0.1");
        Assert.Equal(0, drops);
        Assert.Equal(2, perBackend.Count);
        int removedBefore = rig.Ct.CountEntries();

        int stopped = 0, kept = 0;
        for (int port = 20000; port < 20000 + Flows; port++)
        {
            var result = rig.Run(after, ToVip(port, Packets.TcpFlags.Ack).Build(), ClientSlot);
            rig.Pipeline.ClearPending();
            if (result.Verdict == Verdict.Forward) kept++;
            else if (result.DropReason == DropReason.PolicyDenied) stopped++;
        }
        Assert.Equal(perBackend[Backend1], kept);
        Assert.Equal(perBackend[Backend2], stopped);
        Assert.Equal(removedBefore - 2 * stopped, rig.Ct.CountEntries());
    }
}

using FastPath.Addressing;
using FastPath.ControlPlane.Identity;
using FastPath.ControlPlane.Policy;
using FastPath.Policy;
using static FastPath.ControlPlane.Tests.PolicyTestFixtures;

namespace FastPath.ControlPlane.Tests;

/// <summary>
/// The three seed policies (TestData/Policy, copied from seeds 000, 001 and 004) compiled against two
/// clusters' identities, checked pair by pair through the fast-path verdict structure.
/// </summary>
public class PolicyCompilerTests
{
    private const ushort Http = 8080;
    private static readonly PolicyOptions SeedBehaviour = new();
    private static readonly PolicyOptions LocalClusterDefault = new() { PolicyDefaultLocalCluster = true };

    // ---- seed 000: tokyo-cluster (1) / hk-cluster (2) ----
    private static readonly uint NetshootTokyo = Id(1, 10), BookstoreTokyo = Id(1, 11), DnsTokyo = Id(1, 12), OtherTokyo = Id(1, 13);
    private static readonly uint NetshootHk = Id(2, 10), BookstoreHk = Id(2, 11), DnsHk = Id(2, 12);

    private static IdentityTable Seed000Identities() => IdentityTable.Create(new[]
    {
        Endpoint(1, 10, "tokyo-cluster", "default", "app=netshoot"),
        Endpoint(1, 11, "tokyo-cluster", "default", "app=bookstore"),
        Endpoint(1, 12, "tokyo-cluster", "kube-system", "k8s-app=kube-dns"),
        Endpoint(1, 13, "tokyo-cluster", "default", "app=other"),
        Endpoint(2, 10, "hk-cluster", "default", "app=netshoot"),
        Endpoint(2, 11, "hk-cluster", "default", "app=bookstore"),
        Endpoint(2, 12, "hk-cluster", "kube-system", "k8s-app=kube-dns"),
    });

    [Fact]
    public void Seed000_netshoot_reaches_only_tokyo_bookstore_and_dns_on_53_udp()
    {
        var seed = LoadSeed("seed000-bookstore-tokyo.yaml");
        var t = PolicyCompiler.Compile(seed.Policies, Seed000Identities(), "hk-cluster", SeedBehaviour, revision: 7);

        Assert.Equal(7, t.Revision);
        Assert.Equal(7, t.Verdicts.Revision);
        foreach (uint netshoot in new[] { NetshootTokyo, NetshootHk })
        {
            Assert.True(t.IsAllowed(netshoot, Direction.Egress, L4Protocol.Tcp, Http, BookstoreTokyo));
            Assert.False(t.IsAllowed(netshoot, Direction.Egress, L4Protocol.Tcp, Http, BookstoreHk)); // the seed's intermittent drops
            Assert.True(t.IsAllowed(netshoot, Direction.Egress, L4Protocol.Udp, 53, DnsTokyo));
            Assert.True(t.IsAllowed(netshoot, Direction.Egress, L4Protocol.Udp, 53, DnsHk));
            Assert.False(t.IsAllowed(netshoot, Direction.Egress, L4Protocol.Tcp, 53, DnsTokyo));
            Assert.False(t.IsAllowed(netshoot, Direction.Egress, L4Protocol.Udp, 54, DnsTokyo));
            Assert.False(t.IsAllowed(netshoot, Direction.Egress, L4Protocol.Tcp, Http, OtherTokyo));
            Assert.False(t.IsAllowed(netshoot, Direction.Egress, L4Protocol.Tcp, Http, ReservedIdentities.World));
            // Only egress has a section: ingress to netshoot stays open.
            Assert.True(t.IsAllowed(netshoot, Direction.Ingress, L4Protocol.Tcp, Http, OtherTokyo));
        }
        // Endpoints no rule selects are allowed everything in both directions.
        Assert.True(t.IsAllowed(BookstoreHk, Direction.Egress, L4Protocol.Tcp, 443, ReservedIdentities.World));
        Assert.True(t.IsAllowed(BookstoreTokyo, Direction.Ingress, L4Protocol.Tcp, Http, OtherTokyo));
        Assert.Equal(new[] { NetshootTokyo, NetshootHk }.Order(), t.EgressEnforced.Order());
        Assert.Empty(t.IngressEnforced);
    }

    [Fact]
    public void Seed000_L7_dns_rule_is_accepted_with_exactly_one_warning_naming_the_policy()
    {
        var seed = LoadSeed("seed000-bookstore-tokyo.yaml");
        var warning = Assert.Single(seed.Warnings);
        Assert.Contains("default/allow-netshoot-pod-to-tokyo", warning);
        Assert.Contains("L4 only", warning);
        var t = PolicyCompiler.Compile(seed.Policies, Seed000Identities(), "tokyo-cluster", SeedBehaviour, 1);
        Assert.Contains("default/allow-netshoot-pod-to-tokyo", Assert.Single(t.Warnings));
    }

    [Fact]
    public void Seed000_without_a_cluster_label_bookstore_matches_every_cluster_unless_policy_default_local_cluster_is_set()
    {
        var seed = LoadSeed("seed000-bookstore-any-cluster.yaml");
        var ids = Seed000Identities();
        var everywhere = PolicyCompiler.Compile(seed.Policies, ids, "tokyo-cluster", SeedBehaviour, 1);
        Assert.True(everywhere.IsAllowed(NetshootTokyo, Direction.Egress, L4Protocol.Tcp, Http, BookstoreTokyo));
        Assert.True(everywhere.IsAllowed(NetshootTokyo, Direction.Egress, L4Protocol.Tcp, Http, BookstoreHk));
        // No DNS rule in this version: DNS is denied, which is what the seed ran into first.
        Assert.False(everywhere.IsAllowed(NetshootTokyo, Direction.Egress, L4Protocol.Udp, 53, DnsTokyo));

        var localOnly = PolicyCompiler.Compile(seed.Policies, ids, "tokyo-cluster", LocalClusterDefault, 2);
        Assert.True(localOnly.IsAllowed(NetshootTokyo, Direction.Egress, L4Protocol.Tcp, Http, BookstoreTokyo));
        Assert.False(localOnly.IsAllowed(NetshootTokyo, Direction.Egress, L4Protocol.Tcp, Http, BookstoreHk));

        var localOnlyHk = PolicyCompiler.Compile(seed.Policies, ids, "hk-cluster", LocalClusterDefault, 3);
        Assert.True(localOnlyHk.IsAllowed(NetshootHk, Direction.Egress, L4Protocol.Tcp, Http, BookstoreHk));
        Assert.False(localOnlyHk.IsAllowed(NetshootHk, Direction.Egress, L4Protocol.Tcp, Http, BookstoreTokyo));
    }

    // ---- seed 001: cluster1 (1) / cluster2 (2) ----
    private static readonly uint XwingC1 = Id(1, 20), RebelC1 = Id(1, 21), DnsC1 = Id(1, 22), XwingC2 = Id(2, 20), RebelC2 = Id(2, 21);

    private static IdentityTable Seed001Identities() => IdentityTable.Create(new[]
    {
        Endpoint(1, 20, "cluster1", "default", "name=x-wing"),
        Endpoint(1, 21, "cluster1", "default", "name=rebel-base"),
        Endpoint(1, 22, "cluster1", "kube-system", "k8s-app=kube-dns"),
        Endpoint(2, 20, "cluster2", "default", "name=x-wing"),
        Endpoint(2, 21, "cluster2", "default", "name=rebel-base"),
    });

    [Fact]
    public void Seed001_xwing_in_cluster1_reaches_rebel_base_in_cluster2_only()
    {
        var seed = LoadSeed("seed001-xwing.yaml");
        Assert.Equal(new[] { "allow-dns", "allow-cross-cluster" }, seed.Policies.Select(p => p.Name));
        Assert.Equal(new[] { 0, 1 }, seed.Policies.Select(p => p.Source.DocumentIndex));
        var t = PolicyCompiler.Compile(seed.Policies, Seed001Identities(), "cluster1", SeedBehaviour, 1);

        Assert.True(t.IsAllowed(XwingC1, Direction.Egress, L4Protocol.Tcp, 80, RebelC2));
        Assert.False(t.IsAllowed(XwingC1, Direction.Egress, L4Protocol.Tcp, 80, RebelC1));
        Assert.True(t.IsAllowed(XwingC1, Direction.Egress, L4Protocol.Udp, 53, DnsC1));
        // x-wing in cluster2 is selected only by allow-dns ({} in default): egress is default-deny, DNS only.
        Assert.False(t.IsAllowed(XwingC2, Direction.Egress, L4Protocol.Tcp, 80, RebelC2));
        Assert.True(t.IsAllowed(XwingC2, Direction.Egress, L4Protocol.Udp, 53, DnsC1));
        // allow-dns selects every endpoint in default, so rebel-base egress is DNS-only too; kube-dns (kube-system) is not selected.
        Assert.True(t.EgressEnforced.Contains(RebelC1) && t.EgressEnforced.Contains(RebelC2));
        Assert.True(t.IsAllowed(DnsC1, Direction.Egress, L4Protocol.Tcp, 443, ReservedIdentities.World));
        // No ingress sections anywhere: rebel-base accepts everyone.
        Assert.True(t.IsAllowed(RebelC2, Direction.Ingress, L4Protocol.Tcp, 80, XwingC2));
        Assert.Empty(t.IngressEnforced);
    }

    // ---- seed 004: cluster1 (1) / cluster2 (2) ----
    private static readonly uint DbC1 = Id(1, 30), EmployeeC1Default = Id(1, 31), StrangerC1 = Id(1, 32), EmployeeC1Istio = Id(1, 33);
    private static readonly uint DbC2 = Id(2, 30), EmployeeC2Istio = Id(2, 31), EmployeeC2Default = Id(2, 32), StrangerC2Istio = Id(2, 33);

    private static IdentityTable Seed004Identities() => IdentityTable.Create(new[]
    {
        Endpoint(1, 30, "cluster1", "default", "app=protected-db"),
        Endpoint(1, 31, "cluster1", "default", "app=employee"),
        Endpoint(1, 32, "cluster1", "default", "app=stranger"),
        Endpoint(1, 33, "cluster1", "istio-space", "app=employee"),
        Endpoint(2, 30, "cluster2", "default", "app=protected-db"),
        Endpoint(2, 31, "cluster2", "istio-space", "app=employee"),
        Endpoint(2, 32, "cluster2", "default", "app=employee"),
        Endpoint(2, 33, "cluster2", "istio-space", "app=stranger"),
    });

    [Fact]
    public void Seed004_protected_db_accepts_6379_tcp_only_from_the_named_employees()
    {
        var seed = LoadSeed("seed004-protected-db.yaml");
        var t = PolicyCompiler.Compile(seed.Policies, Seed004Identities(), "cluster1", SeedBehaviour, 1);

        Assert.True(t.IsAllowed(DbC1, Direction.Ingress, L4Protocol.Tcp, 6379, EmployeeC2Istio));
        Assert.True(t.IsAllowed(DbC1, Direction.Ingress, L4Protocol.Tcp, 6379, EmployeeC1Default));
        Assert.True(t.IsAllowed(DbC1, Direction.Ingress, L4Protocol.Tcp, 6379, EmployeeC2Default)); // no cluster label: any cluster
        Assert.False(t.IsAllowed(DbC1, Direction.Ingress, L4Protocol.Tcp, 6379, StrangerC1));
        Assert.False(t.IsAllowed(DbC1, Direction.Ingress, L4Protocol.Tcp, 6379, StrangerC2Istio));
        Assert.False(t.IsAllowed(DbC1, Direction.Ingress, L4Protocol.Tcp, 6379, EmployeeC1Istio)); // istio-space only from cluster2
        Assert.False(t.IsAllowed(DbC1, Direction.Ingress, L4Protocol.Tcp, 6380, EmployeeC2Istio));
        Assert.False(t.IsAllowed(DbC1, Direction.Ingress, L4Protocol.Udp, 6379, EmployeeC2Istio));
        Assert.False(t.IsAllowed(DbC1, Direction.Ingress, L4Protocol.Tcp, 6379, ReservedIdentities.World));
        // Egress of protected-db and the cluster2 copy of it are not selected.
        Assert.True(t.IsAllowed(DbC1, Direction.Egress, L4Protocol.Tcp, 443, ReservedIdentities.World));
        Assert.True(t.IsAllowed(DbC2, Direction.Ingress, L4Protocol.Tcp, 6379, StrangerC1));
        Assert.Equal(new[] { DbC1 }, t.IngressEnforced);
        Assert.Empty(t.EgressEnforced);
        var entry = Assert.Single(t.Entries);
        Assert.Equal((DbC1, Direction.Ingress, L4Protocol.Tcp, (ushort)6379), (entry.Endpoint, entry.Direction, entry.Protocol, entry.Port));
        Assert.Equal(new[] { EmployeeC1Default, EmployeeC2Istio, EmployeeC2Default }.Order(), entry.Peers);
    }

    [Fact]
    public void Seed004_with_policy_default_local_cluster_the_default_namespace_employee_must_be_local()
    {
        var seed = LoadSeed("seed004-protected-db.yaml");
        var t = PolicyCompiler.Compile(seed.Policies, Seed004Identities(), "cluster1", LocalClusterDefault, 1);
        Assert.True(t.IsAllowed(DbC1, Direction.Ingress, L4Protocol.Tcp, 6379, EmployeeC2Istio)); // explicit cluster2 label kept
        Assert.True(t.IsAllowed(DbC1, Direction.Ingress, L4Protocol.Tcp, 6379, EmployeeC1Default));
        Assert.False(t.IsAllowed(DbC1, Direction.Ingress, L4Protocol.Tcp, 6379, EmployeeC2Default));
    }

    [Fact]
    public void Compiled_tables_do_not_depend_on_policy_order()
    {
        var policies = LoadSeed("seed001-xwing.yaml").Policies.Concat(LoadSeed("seed004-protected-db.yaml").Policies).ToArray();
        var ids = IdentityTable.Create(Seed001Identities().All.Concat(Seed004Identities().All).Where(kv => kv.Key >= 256));
        var a = PolicyCompiler.Compile(policies, ids, "cluster1", SeedBehaviour, 1);
        var b = PolicyCompiler.Compile(policies.Reverse(), ids, "cluster1", SeedBehaviour, 1);
        Assert.Equal(a.Entries, b.Entries, (x, y) => x.Endpoint == y.Endpoint && x.Direction == y.Direction && x.Port == y.Port
            && x.Protocol == y.Protocol && x.Peers.SequenceEqual(y.Peers));
        Assert.Equal(a.IngressEnforced, b.IngressEnforced);
        Assert.Equal(a.EgressEnforced, b.EgressEnforced);
    }

    [Fact]
    public void Rules_add_up_and_ports_only_rules_allow_every_peer_including_world()
    {
        const string yaml = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: web, namespace: default}
            specs:
            - endpointSelector: {matchLabels: {app: bookstore}}
              ingress:
              - toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
            - endpointSelector: {matchLabels: {app: bookstore}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: netshoot}}]
                toPorts: [{ports: [{port: "9000", endPort: 9010}]}]
              - fromEndpoints: [{matchLabels: {app: other}}]
            """;
        var policies = PolicyParser.ParseText(yaml, "web.yaml").Policies;
        var t = PolicyCompiler.Compile(policies, Seed000Identities(), "tokyo-cluster", SeedBehaviour, 1);
        Assert.True(t.IsAllowed(BookstoreTokyo, Direction.Ingress, L4Protocol.Tcp, 8080, ReservedIdentities.World));
        Assert.False(t.IsAllowed(BookstoreTokyo, Direction.Ingress, L4Protocol.Udp, 8080, ReservedIdentities.World));
        Assert.True(t.IsAllowed(BookstoreTokyo, Direction.Ingress, L4Protocol.Udp, 9005, NetshootHk)); // protocol omitted = ANY
        Assert.True(t.IsAllowed(BookstoreTokyo, Direction.Ingress, L4Protocol.Tcp, 9010, NetshootTokyo));
        Assert.False(t.IsAllowed(BookstoreTokyo, Direction.Ingress, L4Protocol.Tcp, 9011, NetshootTokyo));
        Assert.True(t.IsAllowed(BookstoreTokyo, Direction.Ingress, L4Protocol.Tcp, 1234, OtherTokyo)); // no toPorts = every port
        Assert.False(t.IsAllowed(BookstoreTokyo, Direction.Ingress, L4Protocol.Tcp, 1234, NetshootTokyo));
    }

    [Fact]
    public void Named_ports_resolve_against_given_port_names_and_unknown_names_allow_nothing()
    {
        const string yaml = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: named}
            spec:
              endpointSelector: {matchLabels: {app: bookstore}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: netshoot}}]
                toPorts: [{ports: [{port: http, protocol: TCP}, {port: metrics}]}]
            """;
        var policies = PolicyParser.ParseText(yaml, "named.yaml").Policies;
        var options = new PolicyOptions
        {
            NamedPorts = new Dictionary<string, System.Collections.Immutable.ImmutableArray<(L4Protocol, ushort)>>
            {
                ["http"] = [(L4Protocol.Tcp, 8080)],
            },
        };
        var t = PolicyCompiler.Compile(policies, Seed000Identities(), "tokyo-cluster", options, 1);
        Assert.True(t.IsAllowed(BookstoreTokyo, Direction.Ingress, L4Protocol.Tcp, 8080, NetshootTokyo));
        Assert.False(t.IsAllowed(BookstoreTokyo, Direction.Ingress, L4Protocol.Tcp, 9090, NetshootTokyo));
        Assert.Equal("metrics in policy default/named", Assert.Single(t.UnresolvedNamedPorts));
        Assert.Contains(t.Warnings, w => w.Contains("metrics"));
    }
}

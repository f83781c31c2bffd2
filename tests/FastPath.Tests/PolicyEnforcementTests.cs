using FastPath.Addressing;
using FastPath.Conntrack;
using FastPath.Observe;
using FastPath.Packets;
using FastPath.Pipeline;
using FastPath.Policy;
using FastPath.Snapshot;
using FastPath.Tests.Fixtures;
using static FastPath.Tests.Fixtures.PipelineRig;
using static FastPath.Tests.Fixtures.PolicyFixture;

namespace FastPath.Tests;

/// <summary>
/// SPEC §7 enforcement in the pipeline over synthetic frames (world: <see cref="PolicyFixture"/>).
/// Each row: the policy, the client, the backend the Maglev table forces, and the expected
/// verdict with the direction that denied it.
/// </summary>
public class PolicyEnforcementTests
{
    private static readonly IdentitySet OnlyNetshoot = IdentitySet.Create([Netshoot]);
    private static readonly IdentitySet OnlyOther = IdentitySet.Create([Other]);

    private static PolicyVerdicts Rules(string name) => name switch
    {
        "none" => PolicyVerdicts.AllowAll,
        "netshoot egress → tokyo bookstore" => NetshootToTokyoBookstoreOnly(),
        "tokyo bookstore ingress ← other only" => new PolicyVerdictsBuilder()
            .Allow(BookstoreTokyo, Direction.Ingress, L4Protocol.Tcp, BackendPort, 0, OnlyOther).Build(1),
        "tokyo bookstore ingress ← netshoot on the VIP port 80 only" => new PolicyVerdictsBuilder()
            .Allow(BookstoreTokyo, Direction.Ingress, L4Protocol.Tcp, 80, 0, OnlyNetshoot).Build(1),
        "netshoot selected for ingress only" => new PolicyVerdictsBuilder()
            .Allow(Netshoot, Direction.Ingress, L4Protocol.Tcp, 0, 0, OnlyOther).Build(1),
        "other is egress default-deny" => new PolicyVerdictsBuilder().SetDefaultDeny(Other, Direction.Egress).Build(1),
        "both sides allow" => new PolicyVerdictsBuilder()
            .Allow(Netshoot, Direction.Egress, L4Protocol.Tcp, BackendPort, 0, IdentitySet.Create([BookstoreTokyo, BookstoreHk]))
            .Allow(BookstoreTokyo, Direction.Ingress, L4Protocol.Tcp, 8000, 8100, OnlyNetshoot).Build(1),
        "both sides deny" => new PolicyVerdictsBuilder()
            .SetDefaultDeny(Netshoot, Direction.Egress).SetDefaultDeny(BookstoreHk, Direction.Ingress).Build(1),
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string, string, uint, DropReason, PolicyDirection> Cases => new()
    {
        { "none", "10.0.0.1", 1, DropReason.None, PolicyDirection.None },
        { "netshoot egress → tokyo bookstore", "10.0.0.1", 1, DropReason.None, PolicyDirection.None },
        { "netshoot egress → tokyo bookstore", "10.0.0.1", 2, DropReason.PolicyDenied, PolicyDirection.Egress },
        // Default deny only where selected: other and world clients have no egress rule.
        { "netshoot egress → tokyo bookstore", "10.0.0.2", 2, DropReason.None, PolicyDirection.None },
        { "netshoot egress → tokyo bookstore", "192.0.2.7", 2, DropReason.None, PolicyDirection.None },
        { "tokyo bookstore ingress ← other only", "10.0.0.1", 1, DropReason.PolicyDenied, PolicyDirection.Ingress },
        { "tokyo bookstore ingress ← other only", "10.0.0.2", 1, DropReason.None, PolicyDirection.None },
        { "tokyo bookstore ingress ← other only", "10.0.0.1", 2, DropReason.None, PolicyDirection.None },
        // The port checked is the backend's (8080, after DNAT), not the VIP's (80).
        { "tokyo bookstore ingress ← netshoot on the VIP port 80 only", "10.0.0.1", 1, DropReason.PolicyDenied, PolicyDirection.Ingress },
        // An ingress section puts netshoot in default deny for ingress only; its egress stays open.
        { "netshoot selected for ingress only", "10.0.0.1", 2, DropReason.None, PolicyDirection.None },
        { "other is egress default-deny", "10.0.0.2", 1, DropReason.PolicyDenied, PolicyDirection.Egress },
        { "other is egress default-deny", "10.0.0.1", 1, DropReason.None, PolicyDirection.None },
        { "both sides allow", "10.0.0.1", 1, DropReason.None, PolicyDirection.None }, // ingress via the 8000–8100 range
        { "both sides deny", "10.0.0.1", 2, DropReason.PolicyDenied, PolicyDirection.Egress },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void New_flow_is_forwarded_only_when_client_egress_and_backend_ingress_both_allow(
        string rules, string client, uint backendId, DropReason expected, PolicyDirection deniedBy)
    {
        var rig = new PipelineRig();
        var snapshot = BuildSnapshot(1, AllSlots(backendId), policy: (Rules(rules), StandardIpCache(), 1));

        PacketResult result = rig.Run(snapshot, ToVip(client: client).Build(), ClientSlot);

        var events = ReadAll(rig.Pipeline.Events);
        FlowEvent e = Assert.Single(events);
        Assert.Equal(NetAddress.Parse(client), e.Source);
        if (expected == DropReason.None)
        {
            Assert.Equal(Verdict.Forward, result.Verdict);
            Assert.Equal(2, rig.Ct.CountEntries());
            Assert.Equal(FlowEventKind.FlowCreated, e.Kind);
        }
        else
        {
            Assert.Equal(expected, result.DropReason);
            Assert.Equal(0, rig.Ct.CountEntries());
            Assert.Empty(rig.Pipeline.PendingReplyKeys.ToArray());
            Assert.Equal(1, rig.Pipeline.Counters.Dropped(DropReason.PolicyDenied));
            Assert.Equal(deniedBy == PolicyDirection.Ingress ? 1 : 0, rig.Pipeline.Counters.PolicyDeniedIngress);
            Assert.Equal(deniedBy == PolicyDirection.Egress ? 1 : 0, rig.Pipeline.Counters.PolicyDeniedEgress);
            Assert.Equal(FlowEventKind.Drop, e.Kind);
            Assert.Equal(DropReason.PolicyDenied, e.DropReason);
        }
        Assert.Equal(deniedBy, e.PolicyDirection);
        Assert.Equal(backendId, e.BackendId);
    }

    [Fact]
    public void Policy_drop_event_records_addresses_identities_direction_frontend_and_backend()
    {
        var rig = new PipelineRig();
        rig.NowMs = 5_000_123;
        var snapshot = BuildSnapshot(1, AllSlots(2), policy: (NetshootToTokyoBookstoreOnly(), StandardIpCache(), 1));

        rig.Run(snapshot, ToVip(41234).Build(), ClientSlot);

        FlowEvent e = Assert.Single(ReadAll(rig.Pipeline.Events));
        Assert.Equal(0, e.Sequence);
        Assert.Equal(5_000_123, e.TimeMs);
        Assert.Equal(FlowEventKind.Drop, e.Kind);
        Assert.Equal(Verdict.Drop, e.Verdict);
        Assert.Equal(DropReason.PolicyDenied, e.DropReason);
        Assert.Equal(PolicyDirection.Egress, e.PolicyDirection);
        Assert.Equal(Client1, e.Source);
        Assert.Equal(41234, e.SourcePort);
        Assert.Equal(Vip4, e.Destination);
        Assert.Equal(80, e.DestinationPort);
        Assert.Equal(Backend2, e.Backend);
        Assert.Equal(8080, e.BackendPort);
        Assert.Equal((byte)6, e.Protocol);
        Assert.Equal(Netshoot, e.SourceIdentity);
        Assert.Equal(BookstoreHk, e.DestinationIdentity);
        Assert.Equal(2u, e.BackendId);
        Assert.Equal("web", snapshot.Frontends[e.FrontendIndex].Name);
    }

    [Theory]
    [InlineData("10.0.0.1/32=netshoot 10.0.0.0/24=other 10.0.0.0/8=hk", Netshoot)] // exact beats every prefix
    [InlineData("10.0.9.9/32=netshoot 10.0.0.0/24=other 10.0.0.0/8=hk", Other)]    // then the longest prefix
    [InlineData("10.0.9.9/32=netshoot 10.0.1.0/24=other 10.0.0.0/8=hk", BookstoreHk)]
    [InlineData("10.0.9.9/32=netshoot 10.0.1.0/24=other", World)]                  // nothing covers it: world
    public void Client_identity_is_the_ipcache_exact_entry_then_longest_prefix_else_world(string entries, uint expected)
    {
        var rig = new PipelineRig();
        var names = new Dictionary<string, uint> { ["netshoot"] = Netshoot, ["other"] = Other, ["hk"] = BookstoreHk };
        var parsed = entries.Split(' ').Select(e => e.Split('=')).Select(kv => (kv[0], names[kv[1]]))
            .Append(("10.244.1.1/32", BookstoreTokyo)).ToArray();
        // Other may not send anywhere: a client resolved to other is denied, every other one forwarded.
        var rules = new PolicyVerdictsBuilder().SetDefaultDeny(Other, Direction.Egress).Build(1);
        var snapshot = BuildSnapshot(1, AllSlots(1), policy: (rules, PolicyFixture.Build(parsed), 1));

        var result = rig.Run(snapshot, ToVip().Build(), ClientSlot);

        FlowEvent e = Assert.Single(ReadAll(rig.Pipeline.Events));
        Assert.Equal(expected, e.SourceIdentity);
        Assert.Equal(BookstoreTokyo, e.DestinationIdentity);
        Assert.Equal(expected == Other ? Verdict.Drop : Verdict.Forward, result.Verdict);
    }

    [Fact]
    public void Address_outside_every_ipcache_prefix_is_world_and_world_peers_follow_the_rules()
    {
        var rig = new PipelineRig();
        var rules = new PolicyVerdictsBuilder()
            .Allow(BookstoreTokyo, Direction.Ingress, L4Protocol.Tcp, BackendPort, 0, IdentitySet.Create([World])).Build(1);
        var snapshot = BuildSnapshot(1, AllSlots(1), policy: (rules, StandardIpCache(), 1));

        Assert.Equal(Verdict.Forward, rig.Run(snapshot, ToVip(client: "198.51.100.1").Build(), ClientSlot).Verdict);
        Assert.Equal(DropReason.PolicyDenied, rig.Run(snapshot, ToVip(client: "10.0.0.1").Build(), ClientSlot).DropReason);
        var events = ReadAll(rig.Pipeline.Events);
        Assert.Equal(World, events[0].SourceIdentity);
        Assert.Equal(BookstoreTokyo, events[0].DestinationIdentity);
        Assert.Equal(PolicyDirection.Ingress, events[1].PolicyDirection);
    }

    /// <summary>
    /// Two open connections to tokyo's bookstore: netshoot's (10.0.0.1) and other's (10.0.0.2).
    /// Revision 2 forbids other's egress: its connection stops (drop policy_denied, flow deleted,
    /// fp_flows key reported), netshoot's continues and re-checks once.
    /// </summary>
    [Fact]
    public void Policy_change_stops_a_connection_that_became_forbidden_and_keeps_one_still_allowed()
    {
        var rig = new PipelineRig();
        var ipcache = StandardIpCache();
        var before = BuildSnapshot(1, AllSlots(1), policy: (PolicyVerdicts.AllowAll, ipcache, 1));
        var after = BuildSnapshot(2, AllSlots(1), policy: (new PolicyVerdictsBuilder()
            .Allow(Netshoot, Direction.Egress, L4Protocol.Tcp, BackendPort, 0, IdentitySet.Create([BookstoreTokyo]))
            .SetDefaultDeny(Other, Direction.Egress).Build(2), ipcache, 2));
        foreach (string client in new[] { "10.0.0.1", "10.0.0.2" })
        {
            Assert.Equal(Verdict.Forward, rig.Run(before, ToVip(40000, TcpFlags.Syn, client: client).Build(), ClientSlot).Verdict);
            Assert.Equal(Verdict.Forward, rig.Run(before, FromBackend(Backend1, 40000, client: client).Build(), BackendSlot).Verdict);
            Assert.Equal(Verdict.Forward, rig.Run(before, ToVip(40000, TcpFlags.Ack, client: client).Build(), ClientSlot).Verdict);
        }
        rig.Pipeline.ClearPending();
        Assert.Equal(4, rig.Ct.CountEntries());
        Assert.Equal(0, rig.Pipeline.Counters.PolicyRechecks);

        // Netshoot's first packet after the change is a reply: replies re-check too.
        Assert.Equal(Verdict.Forward, rig.Run(after, FromBackend(Backend1, 40000, TcpFlags.Ack).Build(), BackendSlot).Verdict);
        Assert.Equal(Verdict.Forward, rig.Run(after, ToVip(40000, TcpFlags.Ack).Build(), ClientSlot).Verdict);
        Assert.Equal(1, rig.Pipeline.Counters.PolicyRechecks); // cached again: one int compare from now on

        var stopped = rig.Run(after, ToVip(40000, TcpFlags.Ack, client: "10.0.0.2").Build(), ClientSlot);
        Assert.Equal(DropReason.PolicyDenied, stopped.DropReason);
        Assert.Equal(2, rig.Ct.CountEntries());
        FlowReplyKey removed = Assert.Single(rig.Pipeline.RemovedReplyKeys.ToArray());
        Assert.Equal(Backend1, removed.Source);
        Assert.Equal(Client2, removed.Destination);
        Assert.Equal(1, rig.Pipeline.Counters.PolicyDeniedEgress);
        FlowEvent e = ReadAll(rig.Pipeline.Events)[^1];
        Assert.Equal((Client2, Other, BookstoreTokyo, 1u, PolicyDirection.Egress), (e.Source, e.SourceIdentity, e.DestinationIdentity, e.BackendId, e.PolicyDirection));

        // The stopped connection's next packet is a new flow, denied at creation.
        Assert.Equal(DropReason.PolicyDenied, rig.Run(after, ToVip(40000, TcpFlags.Ack, client: "10.0.0.2").Build(), ClientSlot).DropReason);
        Assert.Equal(Verdict.Forward, rig.Run(after, ToVip(40000, TcpFlags.Ack).Build(), ClientSlot).Verdict);
        Assert.Equal(1 + 1, rig.Pipeline.Counters.PolicyRechecks); // the stopped flow's re-check; none for netshoot
    }

    [Fact]
    public void Snapshot_that_only_changes_services_keeps_the_policy_revision_and_does_not_recheck_flows()
    {
        var rig = new PipelineRig();
        var policy = (NetshootToTokyoBookstoreOnly(), StandardIpCache(), 7L);
        rig.Run(BuildSnapshot(1, AllSlots(1), policy: policy), ToVip().Build(), ClientSlot);
        var next = BuildSnapshot(2, AllSlots(2), policy: policy);

        Assert.Equal(Verdict.Forward, rig.Run(next, ToVip(flags: TcpFlags.Ack).Build(), ClientSlot).Verdict);
        Assert.Equal(0, rig.Pipeline.Counters.PolicyRechecks);
    }

    [Fact]
    public void Snapshot_without_policy_allows_everything_and_reports_world_identities()
    {
        var snapshot = BuildSnapshot(1, AllSlots(2));
        Assert.Same(PolicyVerdicts.AllowAll, snapshot.Policy);
        Assert.Equal(0, snapshot.IpCache.Count);
        Assert.False(snapshot.PolicyAwareSelection);
        var rig = new PipelineRig();
        Assert.Equal(Verdict.Forward, rig.Run(snapshot, ToVip().Build(), ClientSlot).Verdict);
        FlowEvent e = Assert.Single(ReadAll(rig.Pipeline.Events));
        Assert.Equal((World, World), (e.SourceIdentity, e.DestinationIdentity));
    }

    internal static FlowEvent[] ReadAll(FlowEventRing ring)
    {
        var buffer = new FlowEvent[ring.Capacity];
        int n = ring.ReadSince(0, buffer, out _, out _);
        return buffer[..n];
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Datapath.Tests.Infrastructure;

namespace Datapath.Tests;

/// <summary>
/// CiliumNetworkPolicy enforced by the real agent over veth with real TCP (issue 4). Two etcds run
/// inside the node netns (where the agent's 127.0.0.1 is): the local cluster tokyo's kvstore
/// (<c>--kvstore-config</c>) and hk's (<c>--clustermesh-config</c>); identities and ipcache entries are
/// Cilium's JSON (SPEC §4):
/// <code>
///   client netns  eth0 10.244.1.10 netshoot (65543)   ──veth──► node netns: agent (tokyo, id 1), etcd tokyo + etcd hk
///                 eth0 10.244.1.11 intruder (65545)                │ XDP on c{id}, b{id}+
///                                                                  ├──► backend 0 10.244.2.1 "hk-0"    bookstore@hk (131081)  ┐ hk's etcd
///                                                                  ├──► backend 1 10.244.2.2 "hk-1"    bookstore@hk           ┘ exports them
///                                                                  ├──► backend 2 10.244.2.3 "tokyo-0" bookstore@tokyo (65544) ┐ local
///                                                                  └──► backend 3 10.244.2.4 "tokyo-1" bookstore@tokyo         ┘ EndpointSlice
///   VIP 10.96.0.10:80 = global Service bookstore (affinity none) → 8080
/// </code>
/// Seed 001 runs the same shape renamed: local cluster1 (x-wing 65543, tiefighter 65545, rebel-base 65544),
/// remote cluster2 (rebel-base 131081), VIP = global Service rebel-base.
/// A dropped SYN shows as a connect that times out; every round is bounded in count and time. Drops
/// are also read back from the agent's stats endpoint (/metrics, /v1/flows) inside the node netns.
/// </summary>
public sealed class PolicyForwardingTests
{
    private const uint Netshoot = (1u << 16) + 7, TokyoBookstore = (1u << 16) + 8, Intruder = (1u << 16) + 9;
    private const uint HkBookstore = (2u << 16) + 9;
    private static readonly IPAddress IntruderAddress = IPAddress.Parse("10.244.1.11");
    private static readonly IPEndPoint Vip = new(ServiceTopology.Vip, 80);
    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(30);
    /// <summary>Long enough that a slow SYN-ACK on a loaded machine is not taken for a drop: the
    /// connections of a round run in parallel, so a round lasts about this long when some are dropped.</summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(2);
    private static readonly string[] HkPods = ["hk-0", "hk-1"];
    private static readonly string[] TokyoPods = ["tokyo-0", "tokyo-1"];
    private static readonly string[] Cluster1Pods = ["cluster1-0", "cluster1-1"];
    private static readonly string[] Cluster2Pods = ["cluster2-0", "cluster2-1"];

    /// <summary>Names of one run: clusters, the label key and values of client/intruder/backends, the service.</summary>
    private sealed record Scenario(string Local, string Remote, string LabelKey, string Client, string Intruder, string Service)
    {
        public string[] LocalPods => [$"{Local}-0", $"{Local}-1"];
        public string[] RemotePods => [$"{Remote}-0", $"{Remote}-1"];
    }

    private static readonly Scenario Bookstore = new("tokyo", "hk", "app", "netshoot", "intruder", "bookstore");
    private static readonly Scenario RebelBase = new("cluster1", "cluster2", "name", "x-wing", "tiefighter", "rebel-base");

    /// <summary>
    /// Seed 001 as published: allow-dns selects every endpoint for egress (so every pod is default-deny
    /// on egress; its DNS rule has L7 rules, enforced at L4), and allow-cross-cluster lets x-wing in
    /// cluster1 reach rebel-base in cluster2 only.
    /// </summary>
    private const string Seed001Policy = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: "allow-dns"
        spec:
          endpointSelector: {}
          egress:
            - toEndpoints:
                - matchLabels:
                    io.kubernetes.pod.namespace: kube-system
                    k8s-app: kube-dns
              toPorts:
                - ports:
                    - port: "53"
                      protocol: UDP
                  rules:
                    dns:
                      - matchPattern: "*"
        ---
        apiVersion: "cilium.io/v2"
        kind: CiliumNetworkPolicy
        metadata:
          name: "allow-cross-cluster"
        spec:
          description: "Allow x-wing in cluster1 to contact rebel-base in cluster2"
          endpointSelector:
            matchLabels:
              name: x-wing
              io.cilium.k8s.policy.cluster: cluster1
          egress:
          - toEndpoints:
            - matchLabels:
                name: rebel-base
                io.cilium.k8s.policy.cluster: cluster2

        """;

    /// <summary>Seed 000: netshoot may reach bookstore (on 8080) in tokyo only, or in any cluster.</summary>
    private static string EgressPolicy(string? cluster) => Seed000Objects.NetshootToBookstore("allow-netshoot-to-bookstore", cluster);

    /// <summary>Seed 004-style L4 ingress: bookstore accepts 8080/TCP from netshoot (any cluster) only.</summary>
    private const string IngressPolicy = """
        apiVersion: "cilium.io/v2"
        kind: CiliumNetworkPolicy
        metadata:
          name: protected-bookstore
        spec:
          endpointSelector:
            matchLabels:
              app: bookstore
          ingress:
          - fromEndpoints:
            - matchLabels:
                app: netshoot
            toPorts:
            - ports:
              - port: "8080"
                protocol: TCP

        """;

    private static MeshAgentSetup PolicySetup(string policy, params string[] extraAgentArgs) => PolicySetup(Bookstore, policy, extraAgentArgs);

    /// <summary>
    /// The mesh of the class comment under <paramref name="names"/>: the remote's two pods and identity in
    /// its etcd, the client, intruder and local pods' identities in the local kvstore, the Service with the
    /// local slice and <paramref name="policy"/> as manifests.
    /// </summary>
    private static MeshAgentSetup PolicySetup(Scenario names, string policy, params string[] extraAgentArgs) => new(new MeshAgentOptions
    {
        Prefix = "pol",
        Local = names.Local,
        Remote = names.Remote,
        Service = names.Service,
        LabelKey = names.LabelKey,
        RemoteBackends = 2,
        LocalBackends = 2,
        RemoteIdentity = HkBookstore,
        LocalIdentities =
        [
            new(Netshoot, names.Client, ServiceTopology.ClientAddress),
            new(Intruder, names.Intruder, IntruderAddress),
            new(TokyoBookstore, names.Service, ServiceTopology.BackendAddress(2), ServiceTopology.BackendAddress(3)),
        ],
        ExtraClientAddresses = [IntruderAddress],
        Manifests =
        [
            new("services.yaml", Seed000Objects.GlobalService(ServiceTopology.Vip.ToString(), 80, PodServers.TcpPort, name: names.Service) + "---\n" +
                Seed000Objects.EndpointSlice($"{names.Service}-local", PodServers.TcpPort,
                    [ServiceTopology.BackendAddress(2).ToString(), ServiceTopology.BackendAddress(3).ToString()], names.Service)),
            new(PolicyFile, policy),
        ],
        ExtraAgentArgs = extraAgentArgs,
    });

    private const string PolicyFile = "policy.yaml";

    [Fact]
    public void Seed_000_with_affinity_none_drops_the_connections_maglev_sends_to_the_other_clusters_bookstore()
    {
        using var setup = PolicySetup(EgressPolicy("tokyo"));
        // Converged once hk's pods (reachable without policy) are no longer answering.
        Round last = WaitForRound(setup, r => r.Failed > 0 && r.Answered.IsSubsetOf(TokyoPods) && r.Answered.Count > 0,
            "policy in force: drops, tokyo answers only");

        DropCounters before = ReadDrops(setup);
        Round round = RunRound(setup, 40, ServiceTopology.ClientAddress);
        Assert.True(round.Failed >= 1, $"expected some dropped connections, got {round}; converged on {last}");
        Assert.True(round.Succeeded >= 1, $"expected some answered connections, got {round}");
        Assert.Subset(new SortedSet<string>(TokyoPods), round.Answered);
        // netshoot's egress rule denied them (bookstore has no ingress rule).
        AssertDropsCounted(setup, before, round.Failed, "egress", ServiceTopology.ClientAddress);
    }

    [Fact]
    public void Seed_000_with_policy_aware_selection_answers_every_connection_from_tokyo()
    {
        using var setup = PolicySetup(EgressPolicy("tokyo"), "--lb-policy-aware-selection");
        WaitForRound(setup, r => r.Failed == 0 && r.Answered.SetEquals(TokyoPods), "tokyo's pods only, no drops");

        Round round = RunRound(setup, 40, ServiceTopology.ClientAddress);
        Assert.True(round.Failed == 0 && round.Unanswered == 0, $"every connection must be answered: {round}");
        Assert.Equal(40, round.Succeeded);
        Assert.Equal(TokyoPods, round.Answered);
    }

    [Fact]
    public void An_l4_ingress_policy_admits_the_allowed_identity_and_drops_another()
    {
        using var setup = PolicySetup(IngressPolicy);
        // Converged once the intruder is dropped; netshoot reaches both clusters' backends.
        WaitForRound(setup, r => r.Succeeded == 0, "intruder dropped", IntruderAddress, count: 4);
        WaitForRound(setup, r => r.Failed == 0 && r.Answered.Count == 4, "netshoot answered by every pod", count: 8);

        // 64 connections: with 24, one of the four pods got none about once in 250 runs ((3/4)^24 × 4).
        Round allowed = RunRound(setup, 64, ServiceTopology.ClientAddress);
        Assert.True(allowed.Failed == 0 && allowed.Unanswered == 0, $"every connection must be answered: {allowed}");
        Assert.Equal([.. HkPods, .. TokyoPods], allowed.Answered);
        DropCounters before = ReadDrops(setup);
        Round denied = RunRound(setup, 8, IntruderAddress);
        Assert.Equal(0, denied.Succeeded);
        // bookstore's ingress rule denied them (nobody has an egress rule).
        AssertDropsCounted(setup, before, denied.Failed, "ingress", IntruderAddress);
    }

    [Fact]
    public void Seed_001_lets_x_wing_in_cluster1_reach_only_cluster2s_rebel_base_and_drops_tiefighter()
    {
        using var setup = PolicySetup(RebelBase, Seed001Policy);
        // Converged once cluster2's pods answer and cluster1's are dropped (affinity none: Maglev picks both).
        Round last = WaitForRound(setup, r => r.Failed > 0 && r.Answered.Count > 0 && r.Answered.IsSubsetOf(Cluster2Pods),
            "x-wing: drops, cluster2 answers only", count: 8);

        DropCounters before = ReadDrops(setup);
        Round xwing = RunRound(setup, 24, ServiceTopology.ClientAddress);
        Assert.True(xwing.Failed >= 1, $"expected x-wing's connections to cluster1's rebel-base dropped, got {xwing}; converged on {last}");
        Assert.True(xwing.Succeeded >= 1, $"expected x-wing's connections to cluster2's rebel-base answered, got {xwing}");
        Assert.Subset(new SortedSet<string>(Cluster2Pods), xwing.Answered);
        AssertDropsCounted(setup, before, xwing.Failed, "egress", ServiceTopology.ClientAddress);

        // tiefighter is selected by allow-dns only (egress to kube-dns): default deny toward rebel-base everywhere.
        before = ReadDrops(setup);
        Round tiefighter = RunRound(setup, 8, IntruderAddress);
        Assert.True(tiefighter.Succeeded == 0, $"tiefighter reached rebel-base: {tiefighter}");
        AssertDropsCounted(setup, before, tiefighter.Failed, "egress", IntruderAddress);
    }

    [Fact]
    public void A_policy_change_stops_an_open_connection_that_becomes_forbidden_and_keeps_an_allowed_one()
    {
        using var setup = PolicySetup(EgressPolicy(cluster: null));
        WaitForRound(setup, r => r.Failed == 0 && r.Answered.SetEquals([.. HkPods, .. TokyoPods]), "every pod answers (any-cluster policy)");

        PodClient? toHk = null, toTokyo = null;
        try
        {
            for (int i = 0; i < 64 && (toHk is null || toTokyo is null); i++)
            {
                var client = PodClient.Connect(setup.Topology.Client, Vip, TimeSpan.FromSeconds(1));
                PodReply? reply = client.Ask($"open-{i}", TimeSpan.FromSeconds(1));
                if (reply is { } r && HkPods.Contains(r.Backend) && toHk is null)
                    toHk = client;
                else if (reply is { } t && TokyoPods.Contains(t.Backend) && toTokyo is null)
                    toTokyo = client;
                else
                    client.Dispose();
            }
            Assert.True(toHk is not null && toTokyo is not null, "no connection landed on each cluster in 64 tries");

            setup.WriteManifest(PolicyFile, EgressPolicy("tokyo"));

            // The hk connection stops answering once the new policy is published; the tokyo one never does.
            var clock = Stopwatch.StartNew();
            bool hkStopped = false;
            for (int i = 0; clock.Elapsed < ConvergeTimeout && !hkStopped; i++)
            {
                Assert.True(toTokyo!.Ask($"tokyo-{i}", TimeSpan.FromSeconds(1)) is { } answer && TokyoPods.Contains(answer.Backend),
                    $"the allowed tokyo connection stopped answering at exchange {i}\nagent log:\n{setup.Agent!.Log}");
                hkStopped = toHk!.Ask($"hk-{i}", TimeSpan.FromSeconds(1)) is null;
                Thread.Sleep(100);
            }
            Assert.True(hkStopped, $"the hk connection kept answering after the policy change\nagent log:\n{setup.Agent!.Log}");
            for (int i = 0; i < 5; i++)
                Assert.NotNull(toTokyo!.Ask($"after-{i}", TimeSpan.FromSeconds(1)));
        }
        finally
        {
            toHk?.Dispose();
            toTokyo?.Dispose();
        }
    }

    /// <summary>The agent's policy drop counters at one moment (/metrics).</summary>
    private readonly record struct DropCounters(double PolicyDenied, double Ingress, double Egress);

    private static DropCounters ReadDrops(MeshAgentSetup setup)
    {
        var metrics = AgentStats.Metrics(setup.Topology.Node);
        return new DropCounters(
            metrics.Value("fastpath_drops_total", ("reason", "policy_denied")),
            metrics.Value("fastpath_policy_denied_total", ("direction", "ingress")),
            metrics.Value("fastpath_policy_denied_total", ("direction", "egress")));
    }

    /// <summary>
    /// Each failed connection's SYN was dropped (at least once): the policy_denied drop counter and the
    /// counter of <paramref name="direction"/> grew by at least <paramref name="failed"/> (≥ 1), the other
    /// direction's did not, and /v1/flows lists a policy_denied drop in that direction from <paramref name="source"/>.
    /// </summary>
    private static void AssertDropsCounted(MeshAgentSetup setup, DropCounters before, int failed, string direction, IPAddress source)
    {
        Assert.True(failed >= 1, "no connection failed, nothing to count");
        DropCounters after = ReadDrops(setup);
        string context = $"{failed} failed connections; counters before {before}, after {after}";
        Assert.True(after.PolicyDenied - before.PolicyDenied >= failed, $"fastpath_drops_total{{reason=\"policy_denied\"}}: {context}");
        bool ingress = direction == "ingress";
        Assert.True((ingress ? after.Ingress - before.Ingress : after.Egress - before.Egress) >= failed,
            $"fastpath_policy_denied_total{{direction=\"{direction}\"}}: {context}");
        Assert.True(ingress ? after.Egress == before.Egress : after.Ingress == before.Ingress,
            $"the other direction's fastpath_policy_denied_total grew: {context}");

        using var flows = AgentStats.Flows(setup.Topology.Node);
        bool listed = false;
        foreach (var flow in flows.RootElement.EnumerateArray())
            listed |= flow.GetProperty("verdict").GetString() == "DROPPED"
                && flow.GetProperty("drop_reason").GetString() == "policy_denied"
                && flow.GetProperty("policy_direction").GetString() == direction
                && flow.GetProperty("source").GetProperty("ip").GetString() == source.ToString();
        Assert.True(listed, $"/v1/flows has no DROPPED policy_denied {direction} event from {source}:\n{flows.RootElement}");
    }

    /// <param name="Failed">Connections whose SYN was never answered (policy drops the first packet).</param>
    /// <param name="Unanswered">Connected, but no answer in time: never a policy drop, kept apart.</param>
    private sealed record Round(int Succeeded, int Failed, int Unanswered, SortedSet<string> Answered)
    {
        public override string ToString() =>
            $"{Succeeded} answered by [{string.Join(", ", Answered)}], {Failed} failed to connect, {Unanswered} connected without an answer";
    }

    private enum Outcome { Answered, ConnectFailed, Unanswered }

    /// <summary>Opens <paramref name="count"/> connections through the VIP from <paramref name="source"/>
    /// at once, each on its own thread (a dropped SYN is a connect timeout), one exchange each.</summary>
    private static Round RunRound(MeshAgentSetup setup, int count, IPAddress source)
    {
        var outcomes = new Outcome[count];
        var backends = new string?[count];
        var threads = new Thread[count];
        for (int i = 0; i < count; i++)
        {
            int n = i;
            threads[i] = new Thread(() =>
            {
                try
                {
                    using var client = PodClient.Connect(setup.Topology.Client, Vip, ConnectTimeout, source);
                    backends[n] = client.Ask($"policy-{n}", AnswerTimeout)?.Backend;
                    outcomes[n] = backends[n] is null ? Outcome.Unanswered : Outcome.Answered;
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
                {
                    outcomes[n] = Outcome.ConnectFailed;
                }
            }) { IsBackground = true, Name = $"policy-round-{n}" };
            threads[i].Start();
        }
        foreach (var thread in threads)
            if (!thread.Join(ConnectTimeout + AnswerTimeout + TimeSpan.FromSeconds(10)))
                throw new TimeoutException("a connection of the round neither finished nor timed out");
        var answered = new SortedSet<string>(backends.OfType<string>(), StringComparer.Ordinal);
        return new Round(outcomes.Count(o => o == Outcome.Answered), outcomes.Count(o => o == Outcome.ConnectFailed),
            outcomes.Count(o => o == Outcome.Unanswered), answered);
    }

    private static Round WaitForRound(MeshAgentSetup setup, Func<Round, bool> done, string what, IPAddress? source = null, int count = 24)
    {
        var clock = Stopwatch.StartNew();
        Round? last = null;
        while (clock.Elapsed < ConvergeTimeout)
        {
            last = RunRound(setup, count, source ?? ServiceTopology.ClientAddress);
            if (done(last))
                return last;
            Thread.Sleep(200);
        }
        throw new TimeoutException($"timed out after {ConvergeTimeout.TotalSeconds} s waiting for {what}: last round {last}\nagent log:\n{setup.Agent!.Log}");
    }
}

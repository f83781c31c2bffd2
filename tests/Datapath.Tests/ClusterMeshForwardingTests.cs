using System.Net;
using Datapath.Tests.Infrastructure;

namespace Datapath.Tests;

/// <summary>
/// The real agent in mesh mode: local services from <c>--k8s-manifests</c>, a remote cluster "hk"
/// from <c>--clustermesh-config</c> whose etcd (mTLS) runs INSIDE the node netns, because there
/// 127.0.0.1 is the netns's own loopback, the one the agent dials:
/// <code>
///   client netns ──veth──► node netns: agent (tokyo, id 1) ──127.0.0.1:port (mTLS)──► etcd "hk"
///   10.244.1.10                  │  XDP on c{id}, b{id}+                             (ip netns exec)
///                                ├──veth──► backend 0 10.244.2.1 "hk-0"  ┐ exported by hk under
///                                ├──veth──► backend 1 10.244.2.2 "hk-1"  ┘ cilium/state/services/v1/hk/default/bookstore
///                                └──veth──► backend 2 10.244.2.3 "tokyo-0" (a local EndpointSlice, when written)
///   VIP 10.96.0.10:80 = tokyo's global Service bookstore (port 80 → 8080, unnamed port "")
/// </code>
/// Tests: with no local endpoints TCP through the VIP is answered by hk's pods only (seed 000);
/// with a local endpoint and affinity local only tokyo's pod answers, and after the local slice is
/// deleted hk's pods answer again (fallback), without restarting the agent.
/// </summary>
public sealed class ClusterMeshForwardingTests
{
    private static readonly IPEndPoint Vip = new(ServiceTopology.Vip, 80);
    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(30);
    private static readonly string[] HkPods = ["hk-0", "hk-1"];
    private static readonly string[] TokyoPods = ["tokyo-0"];

    /// <summary>tokyo with hk-0, hk-1 exported by hk and a third backend for tokyo's pod; tokyo's Service, no slice yet.</summary>
    private static MeshAgentSetup StartMesh() => new(new MeshAgentOptions
    {
        Prefix = "cm",
        RemoteBackends = 2,
        LocalBackends = 1,
        Manifests = [new("services.yaml", Service(affinity: null))],
    });

    [Fact]
    public void A_global_service_without_local_endpoints_is_answered_through_the_vip_by_the_remote_clusters_pods()
    {
        using var setup = StartMesh();
        var answered = WaitForAnswerers(setup, HkPods, "hk's pods only (no local endpoints)");
        Assert.Equal(HkPods, answered);
    }

    [Fact]
    public void Affinity_local_prefers_the_local_pod_and_falls_back_to_the_remote_pods_when_the_local_slice_goes()
    {
        using var setup = StartMesh();
        WaitForAnswerers(setup, HkPods, "hk's pods before any local endpoint");

        setup.WriteManifest("slices.yaml", Seed000Objects.EndpointSlice("bookstore-local", PodServers.TcpPort, [ServiceTopology.BackendAddress(2).ToString()]));
        setup.WriteManifest("services.yaml", Service(affinity: "local"));
        Assert.Equal(TokyoPods, WaitForAnswerers(setup, TokyoPods, "tokyo's pod only (affinity local)"));

        setup.DeleteManifest("slices.yaml");
        Assert.Equal(HkPods, WaitForAnswerers(setup, HkPods, "hk's pods again (fallback)"));
    }

    /// <summary>
    /// Opens rounds of 24 connections through the VIP until one round is answered by exactly the
    /// expected pods (bounded by <see cref="ConvergeTimeout"/>); returns the pods that answered.
    /// </summary>
    private static string[] WaitForAnswerers(MeshAgentSetup setup, string[] expected, string what)
    {
        const int perRound = 24;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string last = "nothing yet";
        while (clock.Elapsed < ConvergeTimeout)
        {
            var seen = new SortedSet<string>(StringComparer.Ordinal);
            int failed = 0;
            for (int i = 0; i < perRound; i++)
            {
                try
                {
                    using var client = PodClient.Connect(setup.Topology.Client, Vip, TimeSpan.FromSeconds(1));
                    if (client.Ask($"mesh-{i}", TimeSpan.FromSeconds(1)) is { } reply)
                        seen.Add(reply.Backend);
                    else
                        failed++;
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException or IOException)
                {
                    failed++;
                }
            }
            if (failed == 0 && seen.SetEquals(expected))
                return [.. seen];
            last = $"answered by [{string.Join(", ", seen)}], {failed} failed";
            Thread.Sleep(200);
        }
        throw new TimeoutException($"timed out after {ConvergeTimeout.TotalSeconds} s waiting for {what}: last round {last}\nagent log:\n{setup.Agent.Log}");
    }

    private static string Service(string? affinity) =>
        Seed000Objects.GlobalService(ServiceTopology.Vip.ToString(), 80, PodServers.TcpPort, affinity);
}

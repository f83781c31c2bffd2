using System.Net;
using Datapath.Tests.Infrastructure;
using FastPath.ControlPlane.Tests.Etcd;

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

    private sealed class MeshSetup : IDisposable
    {
        private readonly List<PodServers> _servers = new();
        public ServiceTopology Topology { get; }
        public EtcdServer Hk { get; }
        public AgentProcess Agent { get; }
        public string Root { get; }
        public string Manifests => Path.Combine(Root, "manifests");

        public MeshSetup()
        {
            Topology = ServiceTopology.Create(3);
            Root = Path.Combine(Path.GetTempPath(), $"fp-cm-{Topology.Id}");
            try
            {
                Directory.CreateDirectory(Manifests);
                string meshDir = Path.Combine(Root, "clustermesh");
                Directory.CreateDirectory(meshDir);
                for (int i = 0; i < 2; i++)
                    _servers.Add(PodServers.Start(Topology.Backends[i], HkPods[i]));
                _servers.Add(PodServers.Start(Topology.Backends[2], TokyoPods[0]));

                Hk = new EtcdServer($"cm-hk-{Topology.Id}", netns: Topology.Node.Name);
                Hk.Etcdctl("put", "cilium/cluster-config/hk",
                    "{\"id\":2,\"capabilities\":{\"syncedCanaries\":false,\"maxConnectedClusters\":255,\"cached\":false}}");
                Hk.Etcdctl("put", "cilium/state/services/v1/hk/default/bookstore", HkService(shared: true));
                Hk.WriteClientConfig(Path.Combine(meshDir, "hk"));

                WriteFile(Path.Combine(Manifests, "services.yaml"), Service(affinity: null));
                Agent = AgentProcess.Start(Topology.Node,
                    "--cluster-name", "tokyo", "--cluster-id", "1",
                    "--k8s-manifests", Manifests, "--clustermesh-config", meshDir,
                    "--devices", Topology.AgentDevices, "--xdp-mode", "native",
                    "--bpf-pin-dir", $"/sys/fs/bpf/fastpath-{Topology.Id}");
                Agent.WaitForLog("ClusterMesh: 1/1 remote clusters ready", ConvergeTimeout);
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            Agent?.Dispose();
            Hk?.Dispose();
            foreach (var server in _servers)
                server.Dispose();
            Topology.Dispose();
            try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public void A_global_service_without_local_endpoints_is_answered_through_the_vip_by_the_remote_clusters_pods()
    {
        using var setup = new MeshSetup();
        var answered = WaitForAnswerers(setup, HkPods, "hk's pods only (no local endpoints)");
        Assert.Equal(HkPods, answered);
    }

    [Fact]
    public void Affinity_local_prefers_the_local_pod_and_falls_back_to_the_remote_pods_when_the_local_slice_goes()
    {
        using var setup = new MeshSetup();
        WaitForAnswerers(setup, HkPods, "hk's pods before any local endpoint");

        WriteFile(Path.Combine(setup.Manifests, "slices.yaml"), Slice(ServiceTopology.BackendAddress(2).ToString()));
        WriteFile(Path.Combine(setup.Manifests, "services.yaml"), Service(affinity: "local"));
        Assert.Equal(TokyoPods, WaitForAnswerers(setup, TokyoPods, "tokyo's pod only (affinity local)"));

        File.Delete(Path.Combine(setup.Manifests, "slices.yaml"));
        Assert.Equal(HkPods, WaitForAnswerers(setup, HkPods, "hk's pods again (fallback)"));
    }

    /// <summary>
    /// Opens rounds of 24 connections through the VIP until one round is answered by exactly the
    /// expected pods (bounded by <see cref="ConvergeTimeout"/>); returns the pods that answered.
    /// </summary>
    private static string[] WaitForAnswerers(MeshSetup setup, string[] expected, string what)
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

    private static void WriteFile(string path, string text)
    {
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Cilium's exact cluster-service JSON (SPEC §4) for hk: hk-0 and hk-1 on 8080, port name "".</summary>
    private static string HkService(bool shared) =>
        "{\"cluster\":\"hk\",\"namespace\":\"default\",\"name\":\"bookstore\"," +
        "\"frontends\":{\"10.104.65.103\":{\"\":{\"Protocol\":\"TCP\",\"Port\":8080}}}," +
        $"\"backends\":{{\"{ServiceTopology.BackendAddress(0)}\":{{\"\":{{\"Protocol\":\"TCP\",\"Port\":8080}}}}," +
        $"\"{ServiceTopology.BackendAddress(1)}\":{{\"\":{{\"Protocol\":\"TCP\",\"Port\":8080}}}}}}," +
        "\"labels\":{},\"selector\":{\"app\":\"bookstore\"},\"includeExternal\":true," +
        $"\"shared\":{(shared ? "true" : "false")},\"clusterID\":2}}";

    private static string Service(string? affinity) => $"""
        apiVersion: v1
        kind: Service
        metadata:
          annotations:
            service.cilium.io/global: "true"
        {(affinity is null ? "" : $"    service.cilium.io/affinity: {affinity}\n")}  name: bookstore
          namespace: default
        spec:
          clusterIP: {ServiceTopology.Vip}
          clusterIPs:
          - {ServiceTopology.Vip}
          ports:
          - port: 80
            protocol: TCP
            targetPort: {PodServers.TcpPort}
          type: ClusterIP

        """;

    private static string Slice(string address) => $"""
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        addressType: IPv4
        metadata:
          labels:
            kubernetes.io/service-name: bookstore
          name: bookstore-local
          namespace: default
        endpoints:
        - addresses:
          - {address}
          conditions:
            ready: true
        ports:
        - port: {PodServers.TcpPort}
          protocol: TCP

        """;
}

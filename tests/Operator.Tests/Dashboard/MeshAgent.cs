using System.Net;
using Datapath.Tests.Infrastructure;
using FastPath.ControlPlane.Tests.Etcd;

namespace Operator.Tests.Dashboard;

/// <summary>
/// A real agent in mesh mode with backends in two clusters, as in Datapath.Tests'
/// PolicyForwardingTests (seed 000's shape). Two etcds run inside the node netns (where the agent's
/// 127.0.0.1 is): tokyo's kvstore (<c>--kvstore-config</c>) and hk's (<c>--clustermesh-config</c>):
/// <code>
///   client netns  eth0 10.244.1.10 netshoot ──veth──► node netns: agent (tokyo, id 1), etcd tokyo + etcd hk, stats 127.0.0.1:9962
///                                                       ├──► backend 0 10.244.2.1 "hk-0"    bookstore@hk    ┐ hk's etcd exports them
///                                                       ├──► backend 1 10.244.2.2 "hk-1"    bookstore@hk    ┘
///                                                       ├──► backend 2 10.244.2.3 "tokyo-0" bookstore@tokyo ┐ local EndpointSlice
///                                                       └──► backend 3 10.244.2.4 "tokyo-1" bookstore@tokyo ┘
///   VIP 10.96.0.10:80 = global Service default/bookstore (affinity none) → 8080
/// </code>
/// The policy file starts allowing netshoot → bookstore in every cluster; <see cref="ApplyPolicy"/>
/// replaces it (the agent watches the manifests directory).
/// </summary>
internal sealed class MeshAgent : IDisposable
{
    public const string Local = "tokyo";
    public const string Remote = "hk";
    private const uint Netshoot = (1u << 16) + 7, TokyoBookstore = (1u << 16) + 8, HkBookstore = (2u << 16) + 9;
    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(30);

    private readonly List<PodServers> _servers = new();
    private readonly EtcdServer? _tokyo;
    private readonly EtcdServer? _hk;

    public ServiceTopology Topology { get; }
    public AgentProcess? Agent { get; }
    public string Root { get; }
    private string PolicyFile => Path.Combine(Root, "manifests", "policy.yaml");

    public MeshAgent()
    {
        Topology = ServiceTopology.Create(4);
        Root = Path.Combine(Path.GetTempPath(), $"fp-dash-{Topology.Id}");
        try
        {
            string manifests = Path.Combine(Root, "manifests");
            string meshDir = Path.Combine(Root, "clustermesh");
            Directory.CreateDirectory(manifests);
            Directory.CreateDirectory(meshDir);
            for (int i = 0; i < 4; i++)
                _servers.Add(PodServers.Start(Topology.Backends[i], i < 2 ? $"{Remote}-{i}" : $"{Local}-{i - 2}"));

            _tokyo = new EtcdServer($"dash-tk-{Topology.Id}", netns: Topology.Node.Name);
            PutIdentity(_tokyo, Netshoot, Local, "netshoot");
            PutIdentity(_tokyo, TokyoBookstore, Local, "bookstore");
            PutIp(_tokyo, ServiceTopology.ClientAddress, Netshoot);
            PutIp(_tokyo, ServiceTopology.BackendAddress(2), TokyoBookstore);
            PutIp(_tokyo, ServiceTopology.BackendAddress(3), TokyoBookstore);
            string kvstore = _tokyo.WriteClientConfig(Path.Combine(Root, "kvstore.yaml"));

            _hk = new EtcdServer($"dash-hk-{Topology.Id}", netns: Topology.Node.Name);
            _hk.Etcdctl("put", $"cilium/cluster-config/{Remote}",
                "{\"id\":2,\"capabilities\":{\"syncedCanaries\":false,\"maxConnectedClusters\":255,\"cached\":false}}");
            _hk.Etcdctl("put", $"cilium/state/services/v1/{Remote}/default/bookstore", HkService());
            PutIdentity(_hk, HkBookstore, Remote, "bookstore");
            PutIp(_hk, ServiceTopology.BackendAddress(0), HkBookstore);
            PutIp(_hk, ServiceTopology.BackendAddress(1), HkBookstore);
            _hk.WriteClientConfig(Path.Combine(meshDir, Remote));

            File.WriteAllText(Path.Combine(manifests, "services.yaml"), ServiceAndSlice());
            File.WriteAllText(PolicyFile, EgressPolicy(cluster: null));
            Agent = AgentProcess.Start(Topology.Node,
                ["--cluster-name", Local, "--cluster-id", "1",
                 "--k8s-manifests", manifests, "--kvstore-config", kvstore, "--clustermesh-config", meshDir,
                 "--devices", Topology.AgentDevices, "--xdp-mode", "native",
                 "--bpf-pin-dir", $"/sys/fs/bpf/fastpath-{Topology.Id}"]);
            Agent.WaitForLog("ClusterMesh: 1/1 remote clusters ready", ConvergeTimeout);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Seed 000's policy: netshoot may reach bookstore in tokyo only, so the flows Maglev
    /// places on hk's backends are dropped with policy_denied (egress).</summary>
    public void RestrictToLocalCluster()
    {
        File.WriteAllText(PolicyFile + ".tmp", EgressPolicy(Local));
        File.Move(PolicyFile + ".tmp", PolicyFile, overwrite: true);
    }

    private static string EgressPolicy(string? cluster) => $"""
        apiVersion: "cilium.io/v2"
        kind: CiliumNetworkPolicy
        metadata:
          name: allow-netshoot-to-bookstore
        spec:
          endpointSelector:
            matchLabels:
              app: netshoot
          egress:
          - toEndpoints:
            - matchLabels:
                app: bookstore
        {(cluster is null ? "" : $"        io.cilium.k8s.policy.cluster: {cluster}\n")}
        """;

    private static void PutIdentity(EtcdServer etcd, uint id, string cluster, string app) =>
        etcd.Etcdctl("put", $"cilium/state/identities/v1/id/{id}",
            $"k8s:app={app};k8s:io.cilium.k8s.policy.cluster={cluster};k8s:io.kubernetes.pod.namespace=default;");

    private static void PutIp(EtcdServer etcd, IPAddress ip, uint id) =>
        etcd.Etcdctl("put", $"cilium/state/ip/v1/default/{ip}",
            $"{{\"IP\":\"{ip}\",\"Mask\":null,\"HostIP\":\"10.244.0.1\",\"ID\":{id},\"Key\":0,\"Metadata\":\"\",\"K8sNamespace\":\"default\",\"K8sPodName\":\"pod-{ip}\"}}");

    /// <summary>Cilium's cluster-service JSON (SPEC §4) for hk: hk-0 and hk-1 on 8080.</summary>
    private static string HkService() =>
        $"{{\"cluster\":\"{Remote}\",\"namespace\":\"default\",\"name\":\"bookstore\"," +
        "\"frontends\":{\"10.104.65.103\":{\"\":{\"Protocol\":\"TCP\",\"Port\":8080}}}," +
        $"\"backends\":{{\"{ServiceTopology.BackendAddress(0)}\":{{\"\":{{\"Protocol\":\"TCP\",\"Port\":8080}}}}," +
        $"\"{ServiceTopology.BackendAddress(1)}\":{{\"\":{{\"Protocol\":\"TCP\",\"Port\":8080}}}}}}," +
        "\"labels\":{},\"selector\":{\"app\":\"bookstore\"},\"includeExternal\":true,\"shared\":true,\"clusterID\":2}";

    private static string ServiceAndSlice() => $"""
        apiVersion: v1
        kind: Service
        metadata:
          annotations:
            service.cilium.io/global: "true"
          name: bookstore
          namespace: default
        spec:
          clusterIP: {ServiceTopology.Vip}
          ports:
          - port: 80
            protocol: TCP
            targetPort: {PodServers.TcpPort}
          type: ClusterIP
        ---
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
          - {ServiceTopology.BackendAddress(2)}
          conditions:
            ready: true
        - addresses:
          - {ServiceTopology.BackendAddress(3)}
          conditions:
            ready: true
        ports:
        - port: {PodServers.TcpPort}
          protocol: TCP

        """;

    public void Dispose()
    {
        Agent?.Dispose();
        _hk?.Dispose();
        _tokyo?.Dispose();
        foreach (var server in _servers)
            server.Dispose();
        Topology.Dispose();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

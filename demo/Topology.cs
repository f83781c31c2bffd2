using System.Net;
using Datapath.Tests.Infrastructure;

namespace FastPath.Demo;

/// <summary>
/// The demo's world, fixed (embedded defaults, nothing to configure):
/// <code>
///   client pod netns           tokyo node netns: bin/fastpath agent (tokyo, id 1), XDP on c{id}, b{id}+
///   netshoot 10.244.1.10 ─veth─►   │  etcd tokyo (mTLS) = --kvstore-config     (identities, ipcache, nodes)
///                                  │  etcd hk    (mTLS) = --clustermesh-config (services, identities, ipcache, nodes)
///                                  ├─veth─► hk-0    10.244.2.1  ┐ bookstore in hk, exported by hk's etcd
///                                  ├─veth─► hk-1    10.244.2.2  ┘
///                                  ├─veth─► tokyo-0 10.244.2.3  ┐ bookstore in tokyo, a local EndpointSlice
///                                  └─veth─► tokyo-1 10.244.2.4  ┘ (when the step writes it)
///   VIP 10.96.0.10:8080 = tokyo's global Service default/bookstore → pods on 8080
/// </code>
/// Both etcds run inside the node netns because the agent dials 127.0.0.1 there. The hk pods hang off
/// the tokyo node as the cross-cluster path would reach them (pod CIDRs routed between clusters).
/// </summary>
internal static class Topology
{
    public const string Tokyo = "tokyo", Hk = "hk";
    public const int TokyoId = 1, HkId = 2;
    public const int VipPort = 8080;
    public const int PodPort = PodServers.TcpPort;
    public static readonly IPAddress Vip = ServiceTopology.Vip;
    public static readonly IPEndPoint VipEndpoint = new(Vip, VipPort);

    /// <summary>Backend pod i of the topology: 0-1 are hk's, 2-3 tokyo's.</summary>
    public static readonly string[] PodNames = ["hk-0", "hk-1", "tokyo-0", "tokyo-1"];
    public static readonly IPAddress[] HkPods = [ServiceTopology.BackendAddress(0), ServiceTopology.BackendAddress(1)];
    public static readonly IPAddress[] TokyoPods = [ServiceTopology.BackendAddress(2), ServiceTopology.BackendAddress(3)];

    /// <summary>The cluster a pod answer came from: pod names are "cluster-index".</summary>
    public static string ClusterOf(string pod) => pod.Split('-')[0];
}

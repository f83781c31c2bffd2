using System.Net;
using Datapath.Tests.Infrastructure;
using FastPath.ControlPlane.Tests.Etcd;
using FastPath.ControlPlane.Tests.Kvstore;

namespace FastPath.Demo;

/// <summary>
/// What each cluster publishes in its etcd, in Cilium's clustermesh layout and JSON (SPEC §4):
/// cluster-config, services, identities, ipcache and nodes. tokyo's etcd is the agent's own kvstore
/// (identities and ipcache of the local pods); hk's is a remote cluster's, read through --clustermesh-config.
/// </summary>
internal static class CiliumState
{
    /// <summary>Identities: cluster id in bits 16-23 (Cilium's layout with 255 clusters), so ranges never overlap.</summary>
    public const uint TokyoNetshoot = (1u << 16) + 7, TokyoBookstore = (1u << 16) + 8, HkBookstore = (2u << 16) + 9;

    /// <summary>The host IP written into ipcache entries (Cilium's HostIP; unused by forwarding here).</summary>
    private const string HostIp = "10.244.0.1";

    public static void PublishTokyo(EtcdServer tokyo, IPAddress client, IReadOnlyList<IPAddress> bookstores)
    {
        PutIdentity(tokyo, TokyoNetshoot, Topology.Tokyo, "netshoot");
        PutIdentity(tokyo, TokyoBookstore, Topology.Tokyo, "bookstore");
        PutIp(tokyo, client, TokyoNetshoot, "netshoot");
        for (int i = 0; i < bookstores.Count; i++)
            PutIp(tokyo, bookstores[i], TokyoBookstore, $"bookstore-{i}");
        PutNode(tokyo, Topology.Tokyo, Topology.TokyoId, "tokyo-node-1", "10.13.1.10", "10.244.0.0");
    }

    public static void PublishHk(EtcdServer hk, IReadOnlyList<IPAddress> bookstores)
    {
        PutClusterConfig(hk, Topology.Hk, Topology.HkId);
        PutHkService(hk, bookstores, shared: true);
        PutIdentity(hk, HkBookstore, Topology.Hk, "bookstore");
        for (int i = 0; i < bookstores.Count; i++)
            PutIp(hk, bookstores[i], HkBookstore, $"bookstore-{i}");
        PutNode(hk, Topology.Hk, Topology.HkId, "hk-node-1", "10.14.1.10", "10.244.2.0");
        PutNode(hk, Topology.Hk, Topology.HkId, "hk-node-2", "10.14.1.11", "10.244.3.0");
    }

    /// <summary>hk's export of default/bookstore: its pods on 8080, port name "" (an unnamed Service port).</summary>
    public static void PutHkService(EtcdServer hk, IReadOnlyList<IPAddress> bookstores, bool shared) =>
        hk.Etcdctl("put", CiliumKeys.ServiceKey(Topology.Hk, "default", "bookstore"),
            Seed000Objects.ClusterService(Topology.Hk, Topology.HkId, shared, Topology.PodPort, bookstores.Select(ip => ip.ToString())));

    private static void PutClusterConfig(EtcdServer etcd, string cluster, int id) =>
        etcd.Etcdctl("put", CiliumKeys.ClusterConfigKey(cluster), CiliumKeys.ClusterConfig((uint)id));

    private static void PutIdentity(EtcdServer etcd, uint id, string cluster, string app) =>
        etcd.Etcdctl("put", CiliumKeys.IdentityKey(id), CiliumKeys.IdentityValue(cluster, app));

    private static void PutIp(EtcdServer etcd, IPAddress ip, uint id, string pod) =>
        etcd.Etcdctl("put", CiliumKeys.IpKey(ip.ToString()), CiliumKeys.IpCache(ip.ToString(), id, HostIp, pod));

    /// <summary>A node with its pod CIDR (/24: mask ////AA== is 255.255.255.0 in base64).</summary>
    private static void PutNode(EtcdServer etcd, string cluster, int clusterId, string node, string ip, string podCidr) =>
        etcd.Etcdctl("put", $"cilium/state/nodes/v1/{cluster}/{node}",
            $"{{\"Name\":\"{node}\",\"Cluster\":\"{cluster}\",\"IPAddresses\":[{{\"Type\":\"InternalIP\",\"IP\":\"{ip}\"}}]," +
            $"\"IPv4AllocCIDR\":{{\"IP\":\"{podCidr}\",\"Mask\":\"////AA==\"}},\"IPv6AllocCIDR\":null,\"ClusterID\":{clusterId}}}");
}

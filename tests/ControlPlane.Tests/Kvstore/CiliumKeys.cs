using System.Text.Json;

namespace FastPath.ControlPlane.Tests.Kvstore;

/// <summary>Keys and values exactly as Cilium's clustermesh writes them (SPEC §4), for tests.</summary>
internal static class CiliumKeys
{
    public static string ClusterConfigKey(string cluster) => $"cilium/cluster-config/{cluster}";

    public static string ClusterConfig(uint id, bool syncedCanaries = false, int max = 255) =>
        $"{{\"id\":{id},\"capabilities\":{{\"syncedCanaries\":{Bool(syncedCanaries)},\"maxConnectedClusters\":{max},\"cached\":false}}}}";

    public static string ServiceKey(string cluster, string ns, string name) => $"cilium/state/services/v1/{cluster}/{ns}/{name}";

    public static string Service(string cluster, uint clusterId, string ns, string name, string backendIp,
        bool shared = true, int port = 8080) =>
        $"{{\"cluster\":\"{cluster}\",\"namespace\":\"{ns}\",\"name\":\"{name}\",\"frontends\":{{\"10.104.65.103\":{{\"http\":{{\"Protocol\":\"TCP\",\"Port\":{port}}}}}}},\"backends\":{{\"{backendIp}\":{{\"http\":{{\"Protocol\":\"TCP\",\"Port\":{port}}}}}}},\"labels\":{{}},\"selector\":{{\"app\":\"{name}\"}},\"includeExternal\":true,\"shared\":{Bool(shared)},\"clusterID\":{clusterId}}}";

    public static string IdentityKey(uint id) => $"cilium/state/identities/v1/id/{id}";

    public static string IdentityValue(string cluster, string app, string ns = "default", string labelKey = "app") =>
        $"k8s:{labelKey}={app};k8s:io.cilium.k8s.policy.cluster={cluster};k8s:io.kubernetes.pod.namespace={ns};";

    public static string IpKey(string ip) => $"cilium/state/ip/v1/default/{ip}";

    public static string IpCache(string ip, uint id, string hostIp, string pod = "bookstore-v1-x") =>
        $"{{\"IP\":\"{ip}\",\"Mask\":null,\"HostIP\":\"{hostIp}\",\"ID\":{id},\"Key\":0,\"Metadata\":\"\",\"K8sNamespace\":\"default\",\"K8sPodName\":\"{pod}\"}}";

    public static string NodeKey(string cluster, string node) => $"cilium/state/nodes/v1/{cluster}/{node}";

    public static string Node(string cluster, uint clusterId, string node, string ip) =>
        $"{{\"Name\":\"{node}\",\"Cluster\":\"{cluster}\",\"IPAddresses\":[{{\"Type\":\"InternalIP\",\"IP\":\"{ip}\"}}],\"IPv4AllocCIDR\":{{\"IP\":\"10.245.2.0\",\"Mask\":\"////AA==\"}},\"IPv6AllocCIDR\":null,\"ClusterID\":{clusterId}}}";

    public static string CanaryKey(string cluster, string basePrefix) => $"cilium/synced/{cluster}/{basePrefix}";

    public static string Now() => JsonSerializer.Serialize(DateTimeOffset.UtcNow).Trim('"');

    private static string Bool(bool b) => b ? "true" : "false";
}

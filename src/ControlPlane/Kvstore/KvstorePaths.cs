namespace FastPath.ControlPlane.Kvstore;

/// <summary>
/// Cilium's clustermesh key layout (SPEC §4). These strings are Cilium's wire contract:
/// they must never change, or we stop seeing what other clusters publish.
/// </summary>
public static class KvstorePaths
{
    public const string ClusterConfigPrefix = "cilium/cluster-config/";
    public const string SyncedPrefix = "cilium/synced/";
    public const string Heartbeat = "cilium/.heartbeat";

    /// <summary>Prefixes without the cluster part: also the names of their sync canaries.</summary>
    public const string ServicesBase = "cilium/state/services/v1";
    public const string NodesBase = "cilium/state/nodes/v1";
    public const string IdentitiesBase = "cilium/state/identities/v1";
    public const string IpCacheBase = "cilium/state/ip/v1";

    public const string IdentitiesById = IdentitiesBase + "/id/";
    public const string IpCacheDefault = IpCacheBase + "/default/";

    public static string ClusterConfig(string cluster) => ClusterConfigPrefix + cluster;
    public static string Services(string cluster) => $"{ServicesBase}/{cluster}/";
    public static string Nodes(string cluster) => $"{NodesBase}/{cluster}/";
    public static string SyncedCanaries(string cluster) => $"{SyncedPrefix}{cluster}/";
    public static string SyncedCanary(string cluster, string basePrefix) => $"{SyncedPrefix}{cluster}/{basePrefix}";
}

using System.Collections.Immutable;
using FastPath.Addressing;

namespace FastPath.ControlPlane.Kvstore;

/// <summary><c>cilium/cluster-config/&lt;cluster&gt;</c>: the cluster's id and capabilities.</summary>
public sealed record ClusterConfig(uint Id, bool SyncedCanaries, int MaxConnectedClusters, bool Cached);

/// <summary>One address of a node (<c>Type</c> is Cilium's: InternalIP, ExternalIP, CiliumInternalIP).</summary>
public sealed record NodeAddress(string Type, NetAddress Ip);

/// <summary>A node a cluster publishes under <c>cilium/state/nodes/v1/&lt;cluster&gt;/&lt;node&gt;</c>.</summary>
public sealed record ClusterNode(
    string Cluster,
    string Name,
    uint ClusterId,
    ImmutableArray<NodeAddress> Addresses,
    string? IPv4AllocCidr,
    string? IPv6AllocCidr);

/// <summary>
/// A security identity: numeric id and its labels as <c>source:key=value</c>, sorted ordinally
/// (SPEC §6). <see cref="Cluster"/> is the cluster whose etcd it came from.
/// </summary>
public sealed record IdentityEntry(uint Id, string Cluster, ImmutableArray<string> Labels)
{
    /// <summary>The value of a label key regardless of its source prefix, or null.</summary>
    public string? LabelValue(string key)
    {
        foreach (string label in Labels)
        {
            int colon = label.IndexOf(':');
            int eq = label.IndexOf('=', colon + 1);
            string k = eq < 0 ? label[(colon + 1)..] : label[(colon + 1)..eq];
            if (k == key)
                return eq < 0 ? "" : label[(eq + 1)..];
        }
        return null;
    }
}

/// <summary>
/// An ipcache entry: prefix → identity, with the node hosting it. <see cref="Identity"/> is
/// already remapped (a remote host identity 1 reads as remote-node 6, SPEC §4).
/// </summary>
public sealed record IpCacheEntry(
    NetAddress Address,
    byte PrefixLength,
    uint Identity,
    NetAddress HostIp,
    string Namespace,
    string PodName,
    string Cluster)
{
    /// <summary>"ip/len", the key this entry is stored under in <c>ClusterState.IpCache</c>.</summary>
    public string Prefix => $"{Address}/{PrefixLength}";
}

using System.Collections.Immutable;
using FastPath.ControlPlane.Kvstore;

namespace FastPath.ControlPlane.Mesh;

/// <summary>
/// What one cluster publishes, as last read from its etcd (possibly stale while disconnected).
/// Services are keyed "namespace/name". Further state (nodes, identities, ipcache) is added
/// as init-only members so existing constructors keep working.
/// </summary>
public sealed record ClusterState(string Name, uint Id, ImmutableDictionary<string, ClusterService> Services)
{
    /// <summary>Nodes keyed by node name.</summary>
    public ImmutableDictionary<string, ClusterNode> Nodes { get; init; } = ImmutableDictionary<string, ClusterNode>.Empty;

    /// <summary>Identities keyed by numeric id.</summary>
    public ImmutableDictionary<uint, IdentityEntry> Identities { get; init; } = ImmutableDictionary<uint, IdentityEntry>.Empty;

    /// <summary>ipcache entries keyed by prefix "ip/len".</summary>
    public ImmutableDictionary<string, IpCacheEntry> IpCache { get; init; } = ImmutableDictionary<string, IpCacheEntry>.Empty;

    public static ClusterState Empty(string name, uint id) =>
        new(name, id, ImmutableDictionary<string, ClusterService>.Empty);
}

using System.Collections.Immutable;

namespace FastPath.ControlPlane.Mesh;

/// <summary>
/// What one cluster publishes, as last read from its etcd (possibly stale while disconnected).
/// Services are keyed "namespace/name". Further state (nodes, identities, ipcache) is added
/// as init-only members so existing constructors keep working.
/// </summary>
public sealed record ClusterState(string Name, uint Id, ImmutableDictionary<string, ClusterService> Services)
{
    public static ClusterState Empty(string name, uint id) =>
        new(name, id, ImmutableDictionary<string, ClusterService>.Empty);
}

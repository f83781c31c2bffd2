using System.Collections.Immutable;
using FastPath.Addressing;

namespace FastPath.ControlPlane.Mesh;

/// <summary>A port of a cluster service as Cilium publishes it: keyed by port name ("" when unnamed).</summary>
public sealed record ClusterServicePort(string Name, L4Protocol Protocol, ushort Port);

/// <summary>
/// A service one cluster exports under <c>cilium/state/services/v1/&lt;cluster&gt;/&lt;ns&gt;/&lt;name&gt;</c>
/// (SPEC §4), validated. Only <see cref="Backends"/> take part in the merge; frontends of
/// remote clusters are kept for listings only (SPEC §5).
/// </summary>
public sealed record ClusterService(
    string Cluster,
    string Namespace,
    string Name,
    uint ClusterId,
    bool Shared,
    bool IncludeExternal,
    ImmutableDictionary<NetAddress, ImmutableArray<ClusterServicePort>> Frontends,
    ImmutableDictionary<NetAddress, ImmutableArray<ClusterServicePort>> Backends,
    ImmutableDictionary<string, string> Labels,
    ImmutableDictionary<string, string> Selector)
{
    public string Key => $"{Namespace}/{Name}";
}

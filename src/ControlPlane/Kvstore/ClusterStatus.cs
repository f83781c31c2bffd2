using System.Collections.Immutable;

namespace FastPath.ControlPlane.Kvstore;

/// <summary>Which prefixes have been fully listed (and, with sync canaries, announced complete).</summary>
public sealed record SyncStatus(bool Nodes, bool Endpoints, bool Identities, bool Services)
{
    public static SyncStatus None { get; } = new(false, false, false, false);
}

/// <summary>
/// One cluster's line in a ClusterMesh status, like <c>cilium status</c>: ready, connected,
/// config retrieved, synced prefixes, counts, failures. <see cref="Rejections"/> counts values
/// refused by validation, per reason.
/// </summary>
public sealed record ClusterStatus(
    string Name,
    string Endpoint,
    bool Ready,
    bool Connected,
    bool ConfigRetrieved,
    uint ClusterId,
    bool SyncedCanaries,
    SyncStatus Synced,
    int NumNodes,
    int NumEndpoints,
    int NumIdentities,
    int NumServices,
    long NumFailures,
    DateTimeOffset? LastFailure,
    string? LastError,
    ImmutableDictionary<string, long> Rejections);

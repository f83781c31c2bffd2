using System.Text.Json;
using System.Text.Json.Serialization;

namespace FastPath.Agent.Stats;

// The JSON the stats endpoint serves under /v1 and the CLI reads back. Field names are the
// glossary's (SPEC §1) in snake_case and are a contract: scripts parse them, never rename.

/// <summary>One backend of a frontend. <c>preferred</c>: in the affinity-selected set the Maglev table is built from.</summary>
internal sealed record BackendDoc(int Id, string Backend, string Cluster, string State, bool Preferred, int Weight, string? Pod);

/// <summary>One frontend of a service (GET /v1/services).</summary>
internal sealed record ServiceDoc(
    int Id, string Frontend, string Namespace, string Service, string Type, bool Global, bool Shared, string Affinity,
    IReadOnlyList<BackendDoc> Backends);

internal sealed record SyncDoc(bool Nodes, bool Endpoints, bool Identities, bool Services);

/// <summary>One cluster's kvstore status, like a <c>cilium status</c> ClusterMesh line.</summary>
internal sealed record ClusterDoc(
    string Cluster, uint ClusterId, string Endpoint, bool Ready, bool Connected, bool ConfigRetrieved, bool SyncCanaries,
    SyncDoc Synced, int Nodes, int Endpoints, int Identities, int Services, long Failures, DateTimeOffset? LastFailure,
    string? LastError);

/// <summary>GET /v1/clustermesh.</summary>
internal sealed record ClusterMeshDoc(
    string LocalCluster, int LocalClusterId, string Mode, int ReadyRemotes, int TotalRemotes, int GlobalServices,
    long Revision, ClusterDoc? Local, IReadOnlyList<ClusterDoc> Remotes, IReadOnlyDictionary<string, string> ConfigErrors,
    bool Healthy, string Health);

internal sealed record NodeDoc(string Cluster, string Name, IReadOnlyList<string> Addresses, string? Ipv4AllocCidr);

internal sealed record IdentityDoc(uint Identity, string Cluster, IReadOnlyList<string> Labels);

internal sealed record PolicyFileDoc(string Kind, string? Namespace, string Name, string Source);

/// <summary>GET /v1/policy.</summary>
internal sealed record PolicyDoc(long PolicyRevision, int EnforcedEndpoints, bool PolicyAwareSelection, IReadOnlyList<PolicyFileDoc> Policies);

/// <summary>One side of a flow: address, port, and, when the ipcache knows it, pod and cluster.</summary>
internal sealed record EndpointDoc(string Ip, int Port, uint Identity, string? Namespace, string? Pod, string? Cluster);

/// <summary>
/// A recent flow or drop (GET /v1/flows). <c>verdict</c> is FORWARDED or DROPPED (Hubble's spelling);
/// <c>drop_reason</c> a glossary drop reason, null when forwarded.
/// </summary>
internal sealed record FlowDoc(
    DateTimeOffset Time, int Queue, long Sequence, string Verdict, string? DropReason, string? PolicyDirection,
    string Protocol, EndpointDoc Source, EndpointDoc Destination, string? Frontend, string? Service,
    EndpointDoc? Backend);

internal static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        WriteIndented = false,
    };
}

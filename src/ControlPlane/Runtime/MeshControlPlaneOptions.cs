using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Kvstore;
using FastPath.Maglev;

namespace FastPath.ControlPlane.Runtime;

/// <summary>
/// What the caller (the agent, a test, the convergence benchmark) chooses for a
/// <see cref="MeshControlPlane"/>. Validated by the agent at start-up (SPEC §2); the control plane
/// only checks what would otherwise corrupt state (cluster id range).
/// </summary>
public sealed record MeshControlPlaneOptions
{
    /// <summary><c>--cluster-name</c>: the local cluster; its own file in the config directory is ignored.</summary>
    public required string ClusterName { get; init; }

    /// <summary><c>--cluster-id</c>: the id local backends carry in the snapshot (1..MaxConnectedClusters; 0 only without kvstores).</summary>
    public required uint ClusterId { get; init; }

    /// <summary>Maglev table size and seeds the compiler builds tables with.</summary>
    public required MaglevParameters Maglev { get; init; }

    /// <summary>The local cluster's objects (<c>--k8s-manifests</c> today, the API server later); none = no local services.</summary>
    public IKubernetesSource? Kubernetes { get; init; }

    /// <summary><c>--kvstore-config FILE</c>: the local cluster's etcd (nodes, identities, ipcache); null = none.</summary>
    public string? KvstoreConfigFile { get; init; }

    /// <summary><c>--clustermesh-config DIR</c>: one etcd client YAML per remote cluster; null = no remotes.</summary>
    public string? ClusterMeshConfigDirectory { get; init; }

    /// <summary>Reconnect, heartbeat and validation settings shared by every cluster watcher.
    /// Its MaxConnectedClusters (255 or 511) bounds every cluster id.</summary>
    public KvstoreWatcherOptions Watcher { get; init; } = new();

    /// <summary>Safety-net rescan period of the config directory; 10 s when null.</summary>
    public TimeSpan? ConfigRescanInterval { get; init; }

    /// <summary><c>--policy-default-local-cluster</c>: peer selectors without a cluster label match only the
    /// local cluster. Off by default: they match every cluster (the seeds' behaviour, SPEC §7).</summary>
    public bool PolicyDefaultLocalCluster { get; init; }

    /// <summary><c>--lb-policy-aware-selection</c>: Maglev picks only among backends the client may reach.
    /// Off by default, as in Cilium (a forbidden pick is dropped).</summary>
    public bool PolicyAwareSelection { get; init; }

    /// <summary>Operator messages (compile failures, skipped frontends); stderr when null.</summary>
    public Action<string>? Log { get; init; }
}

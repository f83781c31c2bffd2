using FastPath.ControlPlane.Mesh;
using FastPath.ControlPlane.Model;
using FastPath.ControlPlane.Runtime;
using FastPath.Runtime;

namespace FastPath.Agent.Stats;

/// <summary>
/// Everything the stats endpoint reads, owned by the agent: the datapath (counters, rings,
/// current snapshot), the mesh control plane in mesh mode, and the desired state in standalone
/// mode. All reads are off the hot path; the datapath's counters are read unsynchronized (a torn
/// or slightly stale value is fine for stats).
/// </summary>
internal sealed class StatsSources
{
    /// <summary>Health waits at most this long for the initial sync of every cluster, then reports healthy anyway
    /// (a remote that never answers must not keep the node out of service forever).</summary>
    public static readonly TimeSpan InitialSyncTimeout = TimeSpan.FromSeconds(30);

    private DesiredState? _standaloneState;

    public StatsSources(string clusterName, int clusterId, Datapath datapath)
    {
        ClusterName = clusterName;
        ClusterId = clusterId;
        Datapath = datapath;
        StartedAt = DateTimeOffset.UtcNow;
        datapath.Snapshots.Published += (_, microseconds) => PublishLatency.Observe(microseconds / 1e6);
    }

    public string ClusterName { get; }
    public int ClusterId { get; }
    public Datapath Datapath { get; }
    public DateTimeOffset StartedAt { get; }
    public LatencyHistogram PublishLatency { get; } = new();
    /// <summary>Per-frontend/per-backend traffic (shared by /metrics and /v1/traffic: one set of id-reuse baselines).</summary>
    public TrafficReport Traffic { get; } = new();

    /// <summary>Mesh mode's control plane; null in standalone mode. Set once, after it started.</summary>
    public MeshControlPlane? Mesh { get; set; }

    /// <summary>Standalone mode: the agent records each desired state it compiles (for listings).</summary>
    public void RecordDesiredState(DesiredState state) => Volatile.Write(ref _standaloneState, state);

    /// <summary>
    /// The desired state behind the current snapshot, with every known backend (for the
    /// "preferred" marks). Mesh mode recomputes it from the control plane's inputs (pure, off the hot path).
    /// </summary>
    public DesiredState CurrentDesiredState()
    {
        if (Mesh is { } mesh)
            return MeshMerger.Merge(ClusterName, mesh.KubernetesObjects, mesh.RemoteClusters.Values.ToArray(), mesh.Revision);
        return Volatile.Read(ref _standaloneState) ?? DesiredState.Empty;
    }

    /// <summary>Cluster name for a cluster id of a backend entry (local name for the local id and for 0).</summary>
    public string ClusterNameOf(uint clusterId)
    {
        if (clusterId == 0 || clusterId == (uint)ClusterId)
            return ClusterName;
        if (Mesh is { } mesh)
            foreach (var state in mesh.RemoteClusters.Values)
                if (state.Id == clusterId)
                    return state.Name;
        return $"cluster-{clusterId}";
    }

    /// <summary>ipcache entries of every cluster by host address (for naming pods in flows).</summary>
    public Dictionary<FastPath.Addressing.NetAddress, FastPath.ControlPlane.Kvstore.IpCacheEntry> IpCacheByAddress()
    {
        var map = new Dictionary<FastPath.Addressing.NetAddress, FastPath.ControlPlane.Kvstore.IpCacheEntry>();
        if (Mesh is { } mesh)
            foreach (ClusterState state in mesh.ClusterStates)
                foreach (var entry in state.IpCache.Values)
                    map.TryAdd(entry.Address, entry);
        return map;
    }
}

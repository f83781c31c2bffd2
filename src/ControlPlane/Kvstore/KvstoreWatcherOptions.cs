using FastPath.ControlPlane.Etcd;

namespace FastPath.ControlPlane.Kvstore;

/// <summary>How a <see cref="RemoteClusterWatcher"/> validates and reconnects. Times are injectable for tests.</summary>
public sealed record KvstoreWatcherOptions
{
    /// <summary>255 or 511 (SPEC §1): bounds cluster ids and identity ranges; a remote config must agree.</summary>
    public int MaxConnectedClusters { get; init; } = IdentityRange.DefaultMaxConnectedClusters;

    /// <summary>When set, the cluster's config must carry this id (for the local cluster: its id).</summary>
    public uint? ExpectedClusterId { get; init; }

    /// <summary>
    /// The local cluster (<c>--kvstore-config</c>): no cluster-config key is required, only nodes,
    /// identities and ipcache are read, and ipcache host identities stay host (1).
    /// </summary>
    public bool IsLocal { get; init; }

    /// <summary>No <c>cilium/.heartbeat</c> update for longer than this → reconnect (SPEC §4: 2 min).</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How often heartbeat staleness is checked.</summary>
    public TimeSpan HealthCheckInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Linear backoff: attempt n waits n × this (SPEC §5: 1 s).</summary>
    public TimeSpan BackoffUnit { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Backoff stops growing after this many attempts (30 × 1 s = 30 s between retries at most).</summary>
    public int MaxBackoffAttempts { get; init; } = 30;

    public EtcdClientOptions Client { get; init; } = new();

    /// <summary>Where operator-facing messages go (connection failures, rejected values); stderr when null.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Test hook: runs after a listing at the given revision, before the watch from revision+1 opens
    /// (lets a test compact past it deterministically).</summary>
    internal Func<long, Task>? BeforeWatchForTests { get; init; }
}

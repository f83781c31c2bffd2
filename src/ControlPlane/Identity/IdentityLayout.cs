namespace FastPath.ControlPlane.Identity;

/// <summary>
/// How a 24-bit identity splits into cluster id and cluster-local part (SPEC §6).
/// With 255 connected clusters the cluster id sits in bits 16–23 (65,535 local ids per cluster);
/// with 511, in 9 bits from bit 15 (32,767 per cluster). Cluster N owns
/// [N &lt;&lt; shift, ((N + 1) &lt;&lt; shift) - 1]; cluster 0 holds the reserved identities.
/// These layouts are Cilium's: changing them breaks every identity read from a kvstore.
/// </summary>
public sealed record IdentityLayout
{
    public int MaxConnectedClusters { get; }

    /// <summary>Bit position of the cluster id.</summary>
    public int ClusterShift { get; }

    public static IdentityLayout Clusters255 { get; } = new(255);
    public static IdentityLayout Clusters511 { get; } = new(511);

    private IdentityLayout(int maxConnectedClusters)
    {
        MaxConnectedClusters = maxConnectedClusters;
        ClusterShift = maxConnectedClusters == 255 ? 16 : 15;
    }

    /// <summary>Layout for <c>--max-connected-clusters</c>; only 255 and 511 exist.</summary>
    public static IdentityLayout ForMaxConnectedClusters(int maxConnectedClusters) => maxConnectedClusters switch
    {
        255 => Clusters255,
        511 => Clusters511,
        _ => throw new ArgumentOutOfRangeException(nameof(maxConnectedClusters),
            $"--max-connected-clusters must be 255 or 511, got {maxConnectedClusters}"),
    };

    /// <summary>Number of cluster-local identities per cluster (the local part 0 is never allocated).</summary>
    public int LocalIdentitiesPerCluster => (1 << ClusterShift) - 1;

    public int ClusterOf(uint identity) => (int)((identity & 0xFF_FFFFu) >> ClusterShift);

    /// <summary>Inclusive identity range cluster <paramref name="clusterId"/> owns.</summary>
    public (uint First, uint Last) RangeOf(int clusterId)
    {
        if (clusterId < 0 || clusterId > MaxConnectedClusters)
            throw new ArgumentOutOfRangeException(nameof(clusterId), $"cluster id must be 0–{MaxConnectedClusters}, got {clusterId}");
        uint first = (uint)clusterId << ClusterShift;
        return (first, (uint)((clusterId + 1) << ClusterShift) - 1);
    }
}

namespace FastPath.ControlPlane.Kvstore;

/// <summary>
/// Which identities and cluster ids a mesh of a given size allows (SPEC §1, §6): with 255
/// clusters the cluster id sits in bits 16–23, with 511 in bits 15–23.
/// </summary>
public static class IdentityRange
{
    public const int DefaultMaxConnectedClusters = 255;
    public const int ExtendedMaxConnectedClusters = 511;

    public static bool IsValidMaxConnectedClusters(int max) =>
        max is DefaultMaxConnectedClusters or ExtendedMaxConnectedClusters;

    public static bool IsValidClusterId(uint id, int maxConnectedClusters) =>
        id >= 1 && id <= (uint)maxConnectedClusters;

    /// <summary>Bit position of the cluster id inside a 24-bit identity.</summary>
    public static int ClusterShift(int maxConnectedClusters) =>
        maxConnectedClusters == ExtendedMaxConnectedClusters ? 15 : 16;

    /// <summary>The inclusive identity range cluster <paramref name="clusterId"/> owns.</summary>
    public static (uint First, uint Last) ForCluster(uint clusterId, int maxConnectedClusters)
    {
        int shift = ClusterShift(maxConnectedClusters);
        return (clusterId << shift, ((clusterId + 1) << shift) - 1);
    }

    public static bool Contains(uint identity, uint clusterId, int maxConnectedClusters)
    {
        (uint first, uint last) = ForCluster(clusterId, maxConnectedClusters);
        return identity >= first && identity <= last;
    }
}

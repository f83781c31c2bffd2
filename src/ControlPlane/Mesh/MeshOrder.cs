using FastPath.Addressing;
using FastPath.ControlPlane.Model;

namespace FastPath.ControlPlane.Mesh;

/// <summary>
/// The one order frontends and backends are listed in, so equal inputs give equal desired states
/// (and the compiler sees no churn) whatever order files, slices or clusters were read in.
/// Addresses compare by their 16 network-order bytes (IPv4-mapped sorts before IPv6 proper).
/// </summary>
internal static class MeshOrder
{
    public static int CompareAddresses(NetAddress a, NetAddress b)
    {
        Span<byte> left = stackalloc byte[16];
        Span<byte> right = stackalloc byte[16];
        a.WriteBytes(left);
        b.WriteBytes(right);
        return left.SequenceCompareTo(right);
    }

    public static readonly Comparison<BackendSpec> Backends = (a, b) =>
    {
        int c = CompareAddresses(a.Address, b.Address);
        if (c == 0) c = a.Port.CompareTo(b.Port);
        if (c == 0) c = a.Protocol.CompareTo(b.Protocol);
        if (c == 0) c = string.CompareOrdinal(a.Cluster, b.Cluster);
        return c;
    };

    public static readonly Comparison<DesiredFrontend> Frontends = (a, b) =>
    {
        int c = string.CompareOrdinal(a.Service.Namespace, b.Service.Namespace);
        if (c == 0) c = string.CompareOrdinal(a.Service.Name, b.Service.Name);
        if (c == 0) c = CompareAddresses(a.Address, b.Address);
        if (c == 0) c = a.Port.CompareTo(b.Port);
        if (c == 0) c = a.Protocol.CompareTo(b.Protocol);
        return c;
    };
}

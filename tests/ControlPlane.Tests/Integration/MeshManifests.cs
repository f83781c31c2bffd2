using Datapath.Tests.Infrastructure;

namespace FastPath.ControlPlane.Tests.Integration;

/// <summary>
/// Seed 000 as files and etcd values (<see cref="Seed000Objects"/>, shared with the datapath tests and
/// the demo): tokyo's global <c>bookstore</c> Service (ClusterIP 10.104.65.103, one unnamed TCP port
/// 8080) and Cilium's exact cluster-service JSON (SPEC §4) with the unnamed port "".
/// </summary>
internal static class MeshManifests
{
    public const string ClusterIp = Seed000Objects.BookstoreClusterIp;
    public const int Port = 8080;

    public static string BookstoreService(string? affinity = null) => Seed000Objects.GlobalService(ClusterIp, Port, Port, affinity);

    public static string BookstoreSlice(params string[] addresses) => Seed000Objects.EndpointSlice("bookstore-abcde", Port, addresses);

    /// <summary>cilium/state/services/v1/&lt;cluster&gt;/default/bookstore as Cilium writes it.</summary>
    public static string ClusterService(string cluster, uint clusterId, bool shared, params string[] backends) =>
        Seed000Objects.ClusterService(cluster, clusterId, shared, Port, backends);
}

using System.Collections.Immutable;
using FastPath.ControlPlane.Kvstore;

namespace FastPath.ControlPlane.Runtime;

/// <summary>
/// The ClusterMesh part of an agent's status, like <c>cilium status</c> prints it:
/// "ClusterMesh: 2/3 remote clusters ready, 4 global-services", then one line per cluster.
/// </summary>
/// <param name="Local">The local kvstore's status (<c>--kvstore-config</c>), or null when none is configured.</param>
/// <param name="Remotes">One status per remote cluster, sorted by name.</param>
/// <param name="ConfigErrors">Config-directory files that could not be used, by cluster name, with the reason.</param>
/// <param name="Revision">Revision of the last published snapshot (0 before the first).</param>
/// <param name="CompileFailures">Merges/compiles that threw; the previous snapshot stayed in force.</param>
public sealed record MeshStatus(
    ClusterStatus? Local,
    ImmutableArray<ClusterStatus> Remotes,
    int GlobalServices,
    ImmutableDictionary<string, string> ConfigErrors,
    long Revision,
    long Publishes,
    long CompileFailures)
{
    /// <summary>Policy document sets that failed to parse at runtime; the last good policy set stayed in force.</summary>
    public long PolicyParseFailures { get; init; }

    public int ReadyRemotes => Remotes.Count(r => r.Ready);

    public int TotalRemotes => Remotes.Length;

    public override string ToString() =>
        $"ClusterMesh: {ReadyRemotes}/{TotalRemotes} remote clusters ready, {GlobalServices} global-services";
}

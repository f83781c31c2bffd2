using System.Collections.Immutable;
using FastPath.ControlPlane.Model;

namespace FastPath.ControlPlane.Mesh;

/// <summary>
/// Picks the backend set a frontend's Maglev table is built from (SPEC §5):
/// none → every active backend; local → local active ones, remote ones only while no local one is
/// active; remote → the mirror image. When no backend is active anywhere, the same rule is applied to
/// the terminating (serving) ones as a last resort, so draining pods still answer rather than nothing.
/// Recomputed on every merge, so fallback and return follow the state without a restart.
/// </summary>
internal static class AffinitySelector
{
    public static ImmutableArray<BackendSpec> Select(
        ImmutableArray<BackendSpec> all, ServiceAffinity affinity, string localCluster)
    {
        var active = Pick(all, BackendState.Active, affinity, localCluster);
        return active.Length > 0 ? active : Pick(all, BackendState.Terminating, affinity, localCluster);
    }

    private static ImmutableArray<BackendSpec> Pick(
        ImmutableArray<BackendSpec> all, BackendState state, ServiceAffinity affinity, string localCluster)
    {
        var local = ImmutableArray.CreateBuilder<BackendSpec>();
        var remote = ImmutableArray.CreateBuilder<BackendSpec>();
        var both = ImmutableArray.CreateBuilder<BackendSpec>();
        foreach (var backend in all)
        {
            if (backend.State != state)
                continue;
            both.Add(backend);
            (backend.Cluster == localCluster ? local : remote).Add(backend);
        }
        return affinity switch
        {
            ServiceAffinity.Local => local.Count > 0 ? local.ToImmutable() : remote.ToImmutable(),
            ServiceAffinity.Remote => remote.Count > 0 ? remote.ToImmutable() : local.ToImmutable(),
            _ => both.ToImmutable(),
        };
    }
}

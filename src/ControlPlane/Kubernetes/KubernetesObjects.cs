using System.Collections.Immutable;
using FastPath.ControlPlane.Model;

namespace FastPath.ControlPlane.Kubernetes;

/// <summary>
/// One immutable snapshot of the local cluster's objects the agent cares about. Each collection
/// is sorted (services and slices by namespace/name, policies by file/document), so equal inputs
/// give equal snapshots whatever order files were read in.
/// </summary>
/// <param name="Generation">Bumped by the source each time it publishes a changed snapshot.</param>
public sealed record KubernetesObjects(
    long Generation,
    ImmutableArray<LocalService> Services,
    ImmutableArray<LocalEndpointSlice> EndpointSlices,
    ImmutableArray<PolicyDocument> Policies)
{
    public static KubernetesObjects Empty { get; } = new(0, [], [], []);

    // No cached indexes here: a `with` copy would carry them over stale. Callers that look up
    // many names (the merger) build their own index once per merge.

    /// <summary>Number of local services annotated global (a status figure).</summary>
    public int GlobalServiceCount => Services.Count(s => s.Global);

    public LocalService? FindService(ServiceName name) => Services.FirstOrDefault(s => s.Name == name);

    /// <summary>The EndpointSlices labelled for that service (same namespace), in snapshot order.</summary>
    public IEnumerable<LocalEndpointSlice> SlicesOf(ServiceName service) =>
        EndpointSlices.Where(s => s.Namespace == service.Namespace && s.ServiceName == service.Name);
}

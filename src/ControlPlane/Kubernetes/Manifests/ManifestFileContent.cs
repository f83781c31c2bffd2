using System.Collections.Immutable;

namespace FastPath.ControlPlane.Kubernetes.Manifests;

/// <summary>The objects one manifest file holds, in file order.</summary>
internal sealed record ManifestFileContent(
    ImmutableArray<LocalService> Services,
    ImmutableArray<LocalEndpointSlice> EndpointSlices,
    ImmutableArray<PolicyDocument> Policies)
{
    public static ManifestFileContent Empty { get; } = new([], [], []);
}

namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>One watched resource: the collection path the API serves it under and the kind its objects have.</summary>
/// <param name="Kind">Kind of one object (list items come without it, so it is filled in from here).</param>
/// <param name="ApiVersion">Group/version the objects are served as.</param>
/// <param name="Path">Cluster-wide collection path (all namespaces).</param>
/// <param name="IsCustom">A CRD (cilium.io): absent until Cilium is installed, so a 404 is retried instead of fatal.</param>
public sealed record KubeResource(string Kind, string ApiVersion, string Path, bool IsCustom)
{
    public static KubeResource Services { get; } = new("Service", "v1", "/api/v1/services", false);

    public static KubeResource EndpointSlices { get; } =
        new("EndpointSlice", "discovery.k8s.io/v1", "/apis/discovery.k8s.io/v1/endpointslices", false);

    public static KubeResource CiliumNetworkPolicies { get; } =
        new(PolicyDocument.CiliumNetworkPolicyKind, "cilium.io/v2", "/apis/cilium.io/v2/ciliumnetworkpolicies", true);

    public static KubeResource CiliumClusterwideNetworkPolicies { get; } =
        new(PolicyDocument.CiliumClusterwideNetworkPolicyKind, "cilium.io/v2", "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies", true);

    /// <summary>Everything the agent watches, in start-up order.</summary>
    public static IReadOnlyList<KubeResource> All { get; } =
        [Services, EndpointSlices, CiliumNetworkPolicies, CiliumClusterwideNetworkPolicies];

    public override string ToString() => Path;
}

using System.Collections.Immutable;
using FastPath.ControlPlane.Identity;

namespace FastPath.ControlPlane.Policy;

/// <summary>
/// The labels Cilium adds to a policy's selectors before matching (its k8s policy translation):
/// <list type="bullet">
/// <item><c>endpointSelector</c> of a namespaced policy always gets <c>k8s:io.kubernetes.pod.namespace=&lt;ns&gt;</c>,
/// replacing any namespace the user wrote (a CNP only ever selects pods in its own namespace).
/// A clusterwide policy's endpointSelector is used as written.</item>
/// <item>Peer selectors (<c>fromEndpoints</c>/<c>toEndpoints</c>) without a namespace key (k8s: or any:)
/// get the policy's namespace; in a clusterwide policy they get "namespace label exists" instead,
/// so <c>{}</c> means every managed endpoint, not reserved ones. Selectors on <c>reserved:</c>
/// labels are left alone.</item>
/// <item>With <see cref="PolicyOptions.PolicyDefaultLocalCluster"/>, a peer selector without
/// <c>io.cilium.k8s.policy.cluster</c> gets the local cluster; without it, it matches all clusters.</item>
/// </list>
/// </summary>
public static class ImplicitScope
{
    public static EndpointSelector ForSubject(EndpointSelector selector, string? policyNamespace) =>
        policyNamespace is null ? selector : selector.WithOnly(Label.NamespaceKey, policyNamespace);

    public static EndpointSelector ForPeer(EndpointSelector selector, string? policyNamespace, string? defaultCluster)
    {
        if (selector.HasSource(Label.SourceReserved))
            return selector;
        var result = selector;
        if (!selector.HasK8sOrAnyKey(Label.NamespaceKey))
        {
            result = policyNamespace is null
                ? result.With(new SelectorRequirement(Label.SourceK8s, Label.NamespaceKey, SelectorOperator.Exists, ImmutableArray<string>.Empty))
                : result.With(new SelectorRequirement(Label.SourceK8s, Label.NamespaceKey, SelectorOperator.In, ImmutableArray.Create(policyNamespace)));
        }
        if (defaultCluster is not null && !selector.HasK8sOrAnyKey(Label.ClusterKey))
            result = result.With(new SelectorRequirement(Label.SourceK8s, Label.ClusterKey, SelectorOperator.In, ImmutableArray.Create(defaultCluster)));
        return result;
    }
}

using System.Collections.Immutable;
using FastPath.Addressing;

namespace FastPath.ControlPlane.Policy;

/// <summary>Where a policy came from: file name and document index (as the caller numbered it).</summary>
public sealed record PolicySource(string File, int DocumentIndex)
{
    public override string ToString() => $"{File} doc {DocumentIndex}";
}

/// <summary>A parsed CiliumNetworkPolicy (Namespace set) or CiliumClusterwideNetworkPolicy (Namespace null).</summary>
public sealed record CiliumPolicy(string Kind, string Name, string? Namespace, PolicySource Source, ImmutableArray<PolicyRule> Rules)
{
    public const string KindNamespaced = "CiliumNetworkPolicy";
    public const string KindClusterwide = "CiliumClusterwideNetworkPolicy";

    public bool IsClusterwide => Namespace is null;

    /// <summary>"ns/name" for namespaced policies, "name" for clusterwide ones — used in warnings.</summary>
    public string DisplayName => Namespace is null ? Name : $"{Namespace}/{Name}";

    /// <summary>True if any port rule carried L7 rules (enforced at L4 only).</summary>
    public bool HasL7Rules => Rules.Any(r => r.Ingress.Concat(r.Egress).Any(p => p.Ports.Any(pp => pp.HasL7Rules)));
}

/// <summary>One rule (<c>spec</c> or an item of <c>specs</c>). <see cref="HasIngressSection"/> and
/// <see cref="HasEgressSection"/> are true when that list is present and non-empty: that is what puts the
/// selected endpoints in default deny for the direction.</summary>
public sealed record PolicyRule(
    EndpointSelector EndpointSelector,
    bool HasIngressSection,
    ImmutableArray<PeerRule> Ingress,
    bool HasEgressSection,
    ImmutableArray<PeerRule> Egress,
    string? Description);

/// <summary>An ingress or egress item. <see cref="Peers"/> null = no fromEndpoints/toEndpoints given:
/// any peer (including world) on the listed ports; an item with neither peers nor ports allows nothing.
/// <see cref="Ports"/> empty = every port.</summary>
public sealed record PeerRule(ImmutableArray<EndpointSelector>? Peers, ImmutableArray<PortRule> Ports);

/// <summary>One <c>toPorts</c> item: its ports, and whether it carried L7 <c>rules</c>.</summary>
public sealed record PortRule(ImmutableArray<PortProtocol> Ports, bool HasL7Rules);

/// <summary>One <c>ports[]</c> entry. Exactly one of Port (0 = every port) or PortName is meaningful;
/// EndPort 0 means a single port. Protocol Any covers TCP, UDP (and SCTP).</summary>
public sealed record PortProtocol(ushort Port, string? PortName, ushort EndPort, L4Protocol Protocol)
{
    public override string ToString() =>
        $"{PortName ?? Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}{(EndPort != 0 ? "-" + EndPort : "")}/{Protocol.ToName()}";
}

/// <summary>Settings that change how policies compile (set by the caller, not owned by the compiler).</summary>
public sealed record PolicyOptions
{
    /// <summary><c>--policy-default-local-cluster</c>: peer selectors without a cluster label match only
    /// the local cluster. Off by default: they match every cluster (the seeds' Cilium behaviour).</summary>
    public bool PolicyDefaultLocalCluster { get; init; }

    /// <summary>Named ports (EndpointSlice/Service port names) → the numeric ports they stand for.
    /// A named port not listed here is reported in <see cref="PolicyTables.UnresolvedNamedPorts"/> and allows nothing.</summary>
    public IReadOnlyDictionary<string, ImmutableArray<(L4Protocol Protocol, ushort Port)>> NamedPorts { get; init; }
        = ImmutableDictionary<string, ImmutableArray<(L4Protocol, ushort)>>.Empty;
}

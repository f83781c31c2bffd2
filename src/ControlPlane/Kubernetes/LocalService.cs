using System.Collections.Immutable;
using FastPath.Addressing;
using FastPath.ControlPlane.Model;

namespace FastPath.ControlPlane.Kubernetes;

/// <summary>One entry of a Service's <c>spec.ports</c>.</summary>
/// <param name="Name">Port name; "" when unnamed (allowed only for a single-port service). EndpointSlice ports and
/// remote cluster services are matched to it by this name.</param>
/// <param name="TargetPort">The raw <c>targetPort</c> (a number or a container port name; "" when absent). Kept for
/// listings only: the backend port comes from the EndpointSlice port of the same name, which already resolves it.</param>
public sealed record LocalServicePort(string Name, L4Protocol Protocol, ushort Port, string TargetPort);

/// <summary>
/// A local-cluster Service (SPEC §3) with the Cilium annotations already interpreted.
/// <see cref="Shared"/> and <see cref="Affinity"/> mean nothing for a non-global service, so they
/// are normalised to <c>false</c> / <see cref="ServiceAffinity.None"/> then (as Cilium does).
/// </summary>
/// <param name="ClusterIPs">From <c>spec.clusterIPs</c> (else <c>spec.clusterIP</c>); empty for headless
/// (<c>None</c>) and ExternalName services, which get no frontend.</param>
/// <param name="Annotations">All annotations as written, for listings.</param>
public sealed record LocalService(
    ServiceName Name,
    ImmutableArray<NetAddress> ClusterIPs,
    ImmutableArray<LocalServicePort> Ports,
    bool Global,
    bool Shared,
    ServiceAffinity Affinity,
    ImmutableSortedDictionary<string, string> Annotations,
    ImmutableSortedDictionary<string, string> Labels,
    ImmutableSortedDictionary<string, string> Selector,
    ManifestLocation Source);

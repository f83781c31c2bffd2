using System.Collections.Immutable;
using FastPath.Addressing;

namespace FastPath.ControlPlane.Kubernetes;

/// <summary>One <c>ports[]</c> entry of an EndpointSlice.</summary>
/// <param name="Name">"" when unnamed; matched to the Service port of the same name.</param>
/// <param name="Port">0 when the slice leaves it unset (Kubernetes: "all ports"); such ports give no backend.</param>
public sealed record EndpointSlicePort(string Name, L4Protocol Protocol, ushort Port);

/// <summary>
/// One <c>endpoints[]</c> entry. Conditions follow the Kubernetes defaults when a field is absent:
/// ready unset means ready, serving unset means "same as ready", terminating unset means false.
/// </summary>
/// <param name="PodName">From <c>targetRef</c> when it names a Pod; null otherwise.</param>
public sealed record LocalEndpoint(
    ImmutableArray<NetAddress> Addresses,
    bool Ready,
    bool Serving,
    bool Terminating,
    string? NodeName = null,
    string? PodName = null);

/// <summary>An EndpointSlice (discovery.k8s.io/v1) of the local cluster.</summary>
/// <param name="ServiceName">The <c>kubernetes.io/service-name</c> label: the Service (same namespace) it belongs to.</param>
public sealed record LocalEndpointSlice(
    string Namespace,
    string Name,
    string ServiceName,
    ImmutableArray<LocalEndpoint> Endpoints,
    ImmutableArray<EndpointSlicePort> Ports,
    ManifestLocation Source)
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";
}

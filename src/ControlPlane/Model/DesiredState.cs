using System.Collections.Immutable;
using FastPath.Addressing;

namespace FastPath.ControlPlane.Model;

/// <summary>One backend of one frontend port: ip:port/proto owned by one cluster.</summary>
/// <param name="Cluster">Name of the owning cluster; the local cluster's name for local backends.</param>
/// <param name="Weight">Maglev weight, 1..65535 (Cilium's default is 100).</param>
public sealed record BackendSpec(
    NetAddress Address,
    ushort Port,
    L4Protocol Protocol,
    string Cluster,
    ushort Weight = BackendSpec.DefaultWeight,
    BackendState State = BackendState.Active,
    string? PodName = null)
{
    public const ushort DefaultWeight = 100;

    public override string ToString() => Address.IsV4
        ? $"{Address}:{Port}/{Protocol.ToName()}"
        : $"[{Address}]:{Port}/{Protocol.ToName()}";
}

/// <summary>
/// A frontend (VIP:port/proto of a service) with the backends the fast path must balance over:
/// <see cref="Backends"/> is the affinity-selected set the Maglev table is built from;
/// <see cref="AllBackends"/> is every known backend (for listings: "preferred" marks).
/// </summary>
public sealed record DesiredFrontend(
    ServiceName Service,
    NetAddress Address,
    ushort Port,
    L4Protocol Protocol,
    string PortName,
    ImmutableArray<BackendSpec> Backends,
    ImmutableArray<BackendSpec> AllBackends,
    bool Global = false,
    bool Shared = true,
    ServiceAffinity Affinity = ServiceAffinity.None)
{
    public override string ToString() => Address.IsV4
        ? $"{Address}:{Port}/{Protocol.ToName()}"
        : $"[{Address}]:{Port}/{Protocol.ToName()}";
}

/// <summary>Everything the compiler turns into one forwarding snapshot.</summary>
public sealed record DesiredState(long Revision, ImmutableArray<DesiredFrontend> Frontends)
{
    public static DesiredState Empty { get; } = new(0, ImmutableArray<DesiredFrontend>.Empty);
}

using System.Collections.Immutable;

namespace FastPath.ControlPlane.Identity;

/// <summary>Cilium's reserved identities (SPEC §6) and the <c>reserved:</c> label each carries.
/// These numbers are part of the wire contract with Cilium's kvstore: never renumber.</summary>
public static class ReservedIdentities
{
    public const uint Unknown = 0;
    public const uint Host = 1;
    public const uint World = 2;
    public const uint Unmanaged = 3;
    public const uint Health = 4;
    public const uint Init = 5;
    public const uint RemoteNode = 6;
    public const uint KubeApiServer = 7;
    public const uint Ingress = 8;
    public const uint WorldIPv4 = 9;
    public const uint WorldIPv6 = 10;

    /// <summary>Identities below this are reserved; allocated (cluster-scoped) ones start here.
    /// Cilium's minimal allocated identity is 256.</summary>
    public const uint MinimalAllocated = 256;

    /// <summary>Reserved id → its label name as Cilium spells it (the label is <c>reserved:&lt;name&gt;</c>).</summary>
    public static ImmutableSortedDictionary<uint, string> Names { get; } = new Dictionary<uint, string>
    {
        [Host] = "host",
        [World] = "world",
        [Unmanaged] = "unmanaged",
        [Health] = "health",
        [Init] = "init",
        [RemoteNode] = "remote-node",
        [KubeApiServer] = "kube-apiserver",
        [Ingress] = "ingress",
        [WorldIPv4] = "world-ipv4",
        [WorldIPv6] = "world-ipv6",
    }.ToImmutableSortedDictionary();

    public static bool IsReserved(uint identity) => identity < MinimalAllocated;

    /// <summary>The label set of a reserved identity (empty for unknown/unassigned numbers).</summary>
    public static LabelSet LabelsOf(uint identity) =>
        Names.TryGetValue(identity, out var name)
            ? LabelSet.Create(new[] { new Label(Label.SourceReserved, name, "") })
            : LabelSet.Empty;
}

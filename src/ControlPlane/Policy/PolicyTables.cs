using System.Collections.Immutable;
using FastPath.Addressing;
using FastPath.Policy;

namespace FastPath.ControlPlane.Policy;

/// <summary>
/// One compiled allow entry: endpoint identity, direction, protocol (Any = TCP+UDP+SCTP), port
/// (0 = every port) up to EndPort (0 = single port), and the sorted peers allowed (AllPeers = any
/// peer, including world).
/// </summary>
public sealed record PolicyEntry(uint Endpoint, Direction Direction, L4Protocol Protocol, ushort Port, ushort EndPort,
    bool AllPeers, ImmutableArray<uint> Peers);

/// <summary>
/// The compiled policy, immutable, published with the service snapshot. <see cref="Verdicts"/> is what
/// the fast path queries; the rest is for status, tests and debugging.
/// </summary>
public sealed class PolicyTables
{
    public long Revision { get; }

    /// <summary>The fast-path lookup structure (FastPath.Policy), built from exactly these entries.</summary>
    public PolicyVerdicts Verdicts { get; }

    /// <summary>Allow entries sorted by (endpoint, direction, protocol, port, endPort).</summary>
    public ImmutableArray<PolicyEntry> Entries { get; }

    /// <summary>Endpoint identities in default deny, per direction.</summary>
    public ImmutableSortedSet<uint> IngressEnforced { get; }
    public ImmutableSortedSet<uint> EgressEnforced { get; }

    /// <summary>Warnings (L7 rules enforced at L4, unresolved named ports), one per policy and cause.</summary>
    public ImmutableArray<string> Warnings { get; }

    /// <summary>"policy: port-name" for named ports not found in <see cref="PolicyOptions.NamedPorts"/> (they allow nothing).</summary>
    public ImmutableArray<string> UnresolvedNamedPorts { get; }

    public static PolicyTables Empty { get; } = new(0, PolicyVerdicts.AllowAll, ImmutableArray<PolicyEntry>.Empty,
        ImmutableSortedSet<uint>.Empty, ImmutableSortedSet<uint>.Empty, ImmutableArray<string>.Empty, ImmutableArray<string>.Empty);

    internal PolicyTables(long revision, PolicyVerdicts verdicts, ImmutableArray<PolicyEntry> entries,
        ImmutableSortedSet<uint> ingressEnforced, ImmutableSortedSet<uint> egressEnforced,
        ImmutableArray<string> warnings, ImmutableArray<string> unresolvedNamedPorts)
    {
        Revision = revision;
        Verdicts = verdicts;
        Entries = entries;
        IngressEnforced = ingressEnforced;
        EgressEnforced = egressEnforced;
        Warnings = warnings;
        UnresolvedNamedPorts = unresolvedNamedPorts;
    }

    /// <summary>Same answer as <see cref="PolicyVerdicts.IsAllowed(uint, Direction, L4Protocol, ushort, uint)"/>.</summary>
    public bool IsAllowed(uint endpointIdentity, Direction direction, L4Protocol protocol, ushort port, uint peerIdentity) =>
        Verdicts.IsAllowed(endpointIdentity, direction, protocol, port, peerIdentity);
}

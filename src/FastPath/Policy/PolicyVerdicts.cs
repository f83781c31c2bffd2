using System.Runtime.CompilerServices;
using FastPath.Addressing;

namespace FastPath.Policy;

/// <summary>
/// The compiled L4 policy the pipeline queries when it creates a flow. Built by the control
/// plane's PolicyCompiler through <see cref="PolicyVerdictsBuilder"/>, published inside the
/// service snapshot, never mutated. <see cref="IsAllowed"/> is dictionary-free and allocation-free:
/// <list type="number">
/// <item>(endpoint, direction) not enforced → allow (no rule with that section selects it);</item>
/// <item>exact (endpoint, dir, proto, port) entry whose peer set contains the peer → allow;</item>
/// <item>wildcard-port (endpoint, dir, proto, port 0) entry containing the peer → allow;</item>
/// <item>port ranges (endPort) of that endpoint/direction, scanned linearly (they are rare) → allow;</item>
/// <item>otherwise deny.</item>
/// </list>
/// Ports are the destination port after translation (the backend's port), as in Cilium.
/// </summary>
public sealed class PolicyVerdicts
{
    /// <summary>Port value meaning "every port" in keys: Cilium's port 0.</summary>
    public const ushort AnyPort = 0;

    private readonly UInt64IndexMap _enforced;   // endpoint key → index into _rangeStart/_rangeCount
    private readonly UInt64IndexMap _entries;    // port key → index into _sets
    private readonly IdentitySet[] _sets;
    private readonly int[] _rangeStart;
    private readonly int[] _rangeCount;
    private readonly PortRange[] _ranges;

    internal readonly record struct PortRange(byte Protocol, ushort Low, ushort High, IdentitySet Peers);

    /// <summary>A table with no rules: everything allowed.</summary>
    public static PolicyVerdicts AllowAll { get; } = new PolicyVerdictsBuilder().Build(0);

    public long Revision { get; }

    /// <summary>Number of (endpoint, direction) pairs in default deny.</summary>
    public int EnforcedCount { get; }

    internal PolicyVerdicts(long revision, UInt64IndexMap enforced, int enforcedCount, UInt64IndexMap entries,
        IdentitySet[] sets, int[] rangeStart, int[] rangeCount, PortRange[] ranges)
    {
        Revision = revision;
        _enforced = enforced;
        EnforcedCount = enforcedCount;
        _entries = entries;
        _sets = sets;
        _rangeStart = rangeStart;
        _rangeCount = rangeCount;
        _ranges = ranges;
    }

    // Key layouts (never persisted; only this file and the builder pack them):
    // endpoint key: identity (24 bits) | direction << 24
    // port key:     identity (24 bits) | direction << 24 | protocol << 32 | port << 40
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong EndpointKey(uint identity, Direction dir) => (identity & IdentitySet.MaxIdentity) | ((ulong)dir << 24);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong PortKey(uint identity, Direction dir, byte protocol, ushort port) =>
        EndpointKey(identity, dir) | ((ulong)protocol << 32) | ((ulong)port << 40);

    /// <summary>True when a rule with a <paramref name="dir"/> section selects the endpoint (default deny).</summary>
    public bool IsEnforced(uint endpointIdentity, Direction dir) => _enforced.Find(EndpointKey(endpointIdentity, dir)) >= 0;

    /// <summary>The verdict for a new flow. <paramref name="protocol"/> is the IP protocol number (6 TCP, 17 UDP).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsAllowed(uint endpointIdentity, Direction dir, byte protocol, ushort port, uint peerIdentity)
    {
        int endpoint = _enforced.Find(EndpointKey(endpointIdentity, dir));
        if (endpoint < 0)
            return true;
        return IsAllowedEnforced(endpoint, endpointIdentity, dir, protocol, port, peerIdentity);
    }

    /// <summary>
    /// The verdict for a client → backend flow (SPEC §7), the one rule both the pipeline and the
    /// compiler's policy-aware tables use: the client's EGRESS policy must allow the backend AND the
    /// backend's INGRESS policy must admit the client, on the backend's port (after DNAT, host
    /// order) and the flow's protocol. Egress is checked first: a flow both sides forbid reports
    /// <see cref="Direction.Egress"/> in <paramref name="denied"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool AllowsFlow(uint clientIdentity, uint backendIdentity, byte protocol, ushort backendPort, out Direction denied)
    {
        denied = Direction.Egress;
        if (EnforcedCount == 0)
            return true; // no endpoint is in default deny (no policy at all): nothing to probe
        if (!IsAllowed(clientIdentity, Direction.Egress, protocol, backendPort, backendIdentity))
            return false;
        denied = Direction.Ingress;
        return IsAllowed(backendIdentity, Direction.Ingress, protocol, backendPort, clientIdentity);
    }

    /// <summary>Convenience overload taking the protocol enum.</summary>
    public bool IsAllowed(uint endpointIdentity, Direction dir, L4Protocol protocol, ushort port, uint peerIdentity) =>
        IsAllowed(endpointIdentity, dir, (byte)protocol, port, peerIdentity);

    private bool IsAllowedEnforced(int endpoint, uint endpointIdentity, Direction dir, byte protocol, ushort port, uint peer)
    {
        int exact = _entries.Find(PortKey(endpointIdentity, dir, protocol, port));
        if (exact >= 0 && _sets[exact].Contains(peer))
            return true;
        int wildcard = _entries.Find(PortKey(endpointIdentity, dir, protocol, AnyPort));
        if (wildcard >= 0 && _sets[wildcard].Contains(peer))
            return true;
        int end = _rangeStart[endpoint] + _rangeCount[endpoint];
        for (int i = _rangeStart[endpoint]; i < end; i++)
        {
            ref readonly PortRange r = ref _ranges[i];
            if (r.Protocol == protocol && port >= r.Low && port <= r.High && r.Peers.Contains(peer))
                return true;
        }
        return false;
    }
}

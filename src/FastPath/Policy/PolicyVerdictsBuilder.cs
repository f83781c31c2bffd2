using FastPath.Addressing;

namespace FastPath.Policy;

/// <summary>
/// Collects compiled allow rules and produces an immutable <see cref="PolicyVerdicts"/>.
/// Used by the control plane's PolicyCompiler, off the hot path. Allow rules add up: peers
/// given for the same key are unioned. The result does not depend on call order.
/// </summary>
public sealed class PolicyVerdictsBuilder
{
    /// <summary>Protocols an "ANY" port rule expands to: the ones the fast path sees.</summary>
    private static readonly byte[] AnyProtocols = { (byte)L4Protocol.Tcp, (byte)L4Protocol.Udp, (byte)L4Protocol.Sctp };

    private readonly SortedSet<ulong> _enforced = new();
    private readonly Dictionary<ulong, PeerAccumulator> _ports = new();
    private readonly Dictionary<(ulong Endpoint, byte Protocol, ushort Low, ushort High), PeerAccumulator> _ranges = new();

    private sealed class PeerAccumulator
    {
        public bool All;
        public readonly HashSet<uint> Ids = new();
        public void Add(IdentitySet peers)
        {
            if (peers.IsAll) All = true;
            else foreach (uint id in peers.Members) Ids.Add(id);
        }
        public IdentitySet ToSet() => All ? IdentitySet.All : IdentitySet.Create(Ids);
    }

    /// <summary>Puts the endpoint in default deny for that direction (it is selected by a rule with that section).</summary>
    public PolicyVerdictsBuilder SetDefaultDeny(uint endpointIdentity, Direction dir)
    {
        _enforced.Add(PolicyVerdicts.EndpointKey(endpointIdentity, dir));
        return this;
    }

    /// <summary>Allows <paramref name="peers"/> on a port or port range. <paramref name="port"/> 0 = every port;
    /// <paramref name="endPort"/> 0 (or equal to port) = the single port; protocol Any = TCP, UDP and SCTP.
    /// Also puts the endpoint in default deny for that direction.</summary>
    public PolicyVerdictsBuilder Allow(uint endpointIdentity, Direction dir, L4Protocol protocol, ushort port, ushort endPort, IdentitySet peers)
    {
        ArgumentNullException.ThrowIfNull(peers);
        if (endPort != 0 && endPort < port)
            throw new ArgumentOutOfRangeException(nameof(endPort), $"endPort {endPort} is below port {port}");
        SetDefaultDeny(endpointIdentity, dir);
        if (peers.Count == 0 && !peers.IsAll)
            return this;
        ReadOnlySpan<byte> protocols = protocol == L4Protocol.Any ? AnyProtocols : new[] { (byte)protocol };
        foreach (byte proto in protocols)
        {
            if (port == PolicyVerdicts.AnyPort || endPort == 0 || endPort == port)
            {
                ulong key = PolicyVerdicts.PortKey(endpointIdentity, dir, proto, port);
                if (!_ports.TryGetValue(key, out var acc))
                    _ports[key] = acc = new PeerAccumulator();
                acc.Add(peers);
            }
            else
            {
                var key = (PolicyVerdicts.EndpointKey(endpointIdentity, dir), proto, port, endPort);
                if (!_ranges.TryGetValue(key, out var acc))
                    _ranges[key] = acc = new PeerAccumulator();
                acc.Add(peers);
            }
        }
        return this;
    }

    public PolicyVerdicts Build(long revision)
    {
        // Sorted so the arrays (and the tables built from them) do not depend on insertion order.
        var enforcedKeys = _enforced.ToArray();
        var rangeStart = new int[enforcedKeys.Length];
        var rangeCount = new int[enforcedKeys.Length];
        var ranges = new List<PolicyVerdicts.PortRange>();
        var enforcedEntries = new List<KeyValuePair<ulong, int>>(enforcedKeys.Length);
        var rangesByEndpoint = _ranges.OrderBy(r => r.Key).GroupBy(r => r.Key.Endpoint).ToDictionary(g => g.Key, g => g.ToList());
        for (int i = 0; i < enforcedKeys.Length; i++)
        {
            enforcedEntries.Add(new(enforcedKeys[i], i));
            rangeStart[i] = ranges.Count;
            if (rangesByEndpoint.TryGetValue(enforcedKeys[i], out var list))
            {
                foreach (var (k, acc) in list)
                    ranges.Add(new PolicyVerdicts.PortRange(k.Protocol, k.Low, k.High, acc.ToSet()));
            }
            rangeCount[i] = ranges.Count - rangeStart[i];
        }
        var portKeys = _ports.Keys.Order().ToArray();
        var sets = new IdentitySet[portKeys.Length];
        var portEntries = new List<KeyValuePair<ulong, int>>(portKeys.Length);
        for (int i = 0; i < portKeys.Length; i++)
        {
            sets[i] = _ports[portKeys[i]].ToSet();
            portEntries.Add(new(portKeys[i], i));
        }
        return new PolicyVerdicts(revision, new UInt64IndexMap(enforcedEntries), enforcedKeys.Length,
            new UInt64IndexMap(portEntries), sets, rangeStart, rangeCount, ranges.ToArray());
    }
}

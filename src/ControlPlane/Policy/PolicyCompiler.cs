using System.Collections.Immutable;
using FastPath.Addressing;
using FastPath.ControlPlane.Identity;
using FastPath.Policy;

namespace FastPath.ControlPlane.Policy;

/// <summary>
/// Compiles parsed policies against the identity table into <see cref="PolicyTables"/>, off the hot path:
/// <code>
///   policies ──► implicit namespace/cluster (ImplicitScope) ──► selectors × IdentityTable
///            ──► (endpoint, dir, proto, port) → allowed peers ──► PolicyVerdicts (FastPath)
/// </code>
/// Semantics (Cilium's default enforcement mode): an endpoint selected by a rule with a non-empty
/// ingress (egress) list is default-deny in that direction; every matching allow adds up; an endpoint no
/// such rule selects is allowed everything. Reserved identities (&lt; 256) are subjects only of selectors
/// on <c>reserved:</c> labels. Named ports are resolved here against <see cref="PolicyOptions.NamedPorts"/>.
/// The output does not depend on the order of policies or identities.
/// </summary>
public static class PolicyCompiler
{
    public static PolicyTables Compile(IEnumerable<CiliumPolicy> policies, IdentityTable identities, string localCluster,
        PolicyOptions options, long revision)
    {
        ArgumentNullException.ThrowIfNull(identities);
        ArgumentException.ThrowIfNullOrEmpty(localCluster);
        var builder = new PolicyVerdictsBuilder();
        var entries = new Dictionary<(uint, Direction, L4Protocol, ushort, ushort), (bool All, SortedSet<uint> Peers)>();
        var ingressEnforced = new SortedSet<uint>();
        var egressEnforced = new SortedSet<uint>();
        var warnings = new SortedSet<string>(StringComparer.Ordinal);
        var unresolved = new SortedSet<string>(StringComparer.Ordinal);
        string? defaultCluster = options.PolicyDefaultLocalCluster ? localCluster : null;
        var all = identities.All.ToArray();

        foreach (var policy in policies.OrderBy(p => p.Kind, StringComparer.Ordinal).ThenBy(p => p.Namespace, StringComparer.Ordinal).ThenBy(p => p.Name, StringComparer.Ordinal))
        {
            if (policy.HasL7Rules)
                warnings.Add($"policy {policy.DisplayName} ({policy.Source}): L7 rules are enforced at L4 only");
            foreach (var rule in policy.Rules)
            {
                var subject = ImplicitScope.ForSubject(rule.EndpointSelector, policy.Namespace);
                bool subjectMayBeReserved = subject.HasSource(Label.SourceReserved);
                var selected = all.Where(kv => (subjectMayBeReserved || !ReservedIdentities.IsReserved(kv.Key)) && subject.Matches(kv.Value))
                    .Select(kv => kv.Key).ToArray();
                if (selected.Length == 0)
                    continue;
                CompileSection(Direction.Ingress, rule.HasIngressSection, rule.Ingress, ingressEnforced);
                CompileSection(Direction.Egress, rule.HasEgressSection, rule.Egress, egressEnforced);

                void CompileSection(Direction dir, bool present, ImmutableArray<PeerRule> items, SortedSet<uint> enforced)
                {
                    if (!present)
                        return;
                    foreach (uint ep in selected)
                    {
                        enforced.Add(ep);
                        builder.SetDefaultDeny(ep, dir);
                    }
                    foreach (var item in items)
                    {
                        if (item.Peers is null && item.Ports.IsEmpty)
                            continue; // an empty item allows nothing; it only turned on default deny
                        bool allPeers = item.Peers is null;
                        var peers = allPeers ? IdentitySet.All : IdentitySet.Create(MatchPeers(item.Peers!.Value, policy, defaultCluster, all));
                        foreach (var (proto, port, endPort) in PortsOf(item, policy, options, unresolved))
                        {
                            foreach (uint ep in selected)
                            {
                                builder.Allow(ep, dir, proto, port, endPort, peers);
                                if (!allPeers && peers.Count == 0)
                                    continue; // selectors matched no identity: nothing to list
                                var key = (ep, dir, proto, port, endPort);
                                if (!entries.TryGetValue(key, out var acc))
                                    entries[key] = acc = (false, new SortedSet<uint>());
                                if (allPeers) entries[key] = (true, acc.Peers);
                                else acc.Peers.UnionWith(peers.Members.ToArray());
                            }
                        }
                    }
                }
            }
        }
        foreach (var u in unresolved)
            warnings.Add($"named port {u} is not a known port name; it allows nothing");

        var entryList = entries.OrderBy(e => e.Key).Select(e => new PolicyEntry(e.Key.Item1, e.Key.Item2, e.Key.Item3, e.Key.Item4,
            e.Key.Item5, e.Value.All, e.Value.All ? ImmutableArray<uint>.Empty : e.Value.Peers.ToImmutableArray())).ToImmutableArray();
        return new PolicyTables(revision, builder.Build(revision), entryList, ingressEnforced.ToImmutableSortedSet(),
            egressEnforced.ToImmutableSortedSet(), warnings.ToImmutableArray(), unresolved.ToImmutableArray());
    }

    private static IEnumerable<uint> MatchPeers(ImmutableArray<EndpointSelector> selectors, CiliumPolicy policy, string? defaultCluster,
        KeyValuePair<uint, LabelSet>[] all)
    {
        foreach (var raw in selectors)
        {
            var selector = ImplicitScope.ForPeer(raw, policy.Namespace, defaultCluster);
            foreach (var (id, labels) in all)
                if (selector.Matches(labels))
                    yield return id;
        }
    }

    /// <summary>(protocol, port, endPort) triples of an item; no toPorts (or a toPorts item with no ports) = every port.</summary>
    private static IEnumerable<(L4Protocol, ushort, ushort)> PortsOf(PeerRule item, CiliumPolicy policy, PolicyOptions options, SortedSet<string> unresolved)
    {
        if (item.Ports.IsEmpty)
        {
            yield return (L4Protocol.Any, PolicyVerdicts.AnyPort, 0);
            yield break;
        }
        foreach (var portRule in item.Ports)
        {
            if (portRule.Ports.IsEmpty)
            {
                yield return (L4Protocol.Any, PolicyVerdicts.AnyPort, 0);
                continue;
            }
            foreach (var p in portRule.Ports)
            {
                if (p.PortName is null)
                {
                    yield return (p.Protocol, p.Port, p.EndPort);
                    continue;
                }
                if (!options.NamedPorts.TryGetValue(p.PortName, out var resolved) || resolved.IsEmpty)
                {
                    unresolved.Add($"{p.PortName} in policy {policy.DisplayName}");
                    continue;
                }
                foreach (var (proto, number) in resolved)
                    if (p.Protocol == L4Protocol.Any || p.Protocol == proto)
                        yield return (proto, number, 0);
            }
        }
    }
}

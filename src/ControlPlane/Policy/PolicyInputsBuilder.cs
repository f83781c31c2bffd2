using System.Collections.Immutable;
using FastPath.Addressing;
using FastPath.ControlPlane.Compile;
using FastPath.ControlPlane.Identity;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Mesh;
using FastPath.Policy;

namespace FastPath.ControlPlane.Policy;

/// <summary>
/// Turns the control plane's inputs into the policy half of a snapshot compile (SPEC §6, §7):
/// <code>
///   k8s PolicyDocuments ──► PolicyParser (per document, cached by reference) ──┐
///   every cluster's identities ──► IdentityTable ──────────────────────────────┼─► PolicyCompiler ─► PolicyTables ─┐
///   every cluster's ipcache ──► IpCacheBuilder (remote host → remote-node) ─► IpCache ──────────────────────────────┴─► PolicyInputs
/// </code>
/// Returns the same <see cref="PolicyInputs"/> instance while nothing relevant changed (and also when a
/// recompile produced identical tables), so the snapshot's policy revision — which makes every flow
/// re-check its verdict — only moves on a real change. Called from one thread (the compile thread).
/// </summary>
public sealed class PolicyInputsBuilder
{
    private readonly string _localCluster;
    private readonly bool _policyDefaultLocalCluster;
    private readonly bool _policyAwareSelection;
    private readonly Action<string> _log;
    private readonly HashSet<string> _logged = new(StringComparer.Ordinal);

    // Last good policy set (and the documents it came from); last failing document set (so it is reported once).
    private PolicyDocument[] _goodDocuments = [];
    private ImmutableArray<CiliumPolicy> _policies = [];
    private PolicyDocument[]? _failedDocuments;
    private readonly Dictionary<PolicyDocument, PolicyParseResult> _parsed = new(ReferenceEqualityComparer.Instance);

    private object[] _identityInputs = [];
    private object[] _ipCacheInputs = [];
    private object? _namedPortsInput;
    private IdentityTable _identities = IdentityTable.ReservedOnly;
    private PolicyOptions _options;
    private PolicyTables _tables = PolicyTables.Empty;
    private IpCache _ipCache = IpCache.Empty;
    private long _tablesRevision;
    private long _parseFailures;
    private bool _haveCompiled;

    /// <param name="localCluster">--cluster-name: the cluster <c>--policy-default-local-cluster</c> restricts selectors to.</param>
    /// <param name="log">Operator messages: parse failures at runtime, L7 and named-port warnings (each once).</param>
    public PolicyInputsBuilder(string localCluster, bool policyDefaultLocalCluster, bool policyAwareSelection, Action<string> log)
    {
        ArgumentException.ThrowIfNullOrEmpty(localCluster);
        _localCluster = localCluster;
        _policyDefaultLocalCluster = policyDefaultLocalCluster;
        _policyAwareSelection = policyAwareSelection;
        _log = log ?? throw new ArgumentNullException(nameof(log));
        _options = new PolicyOptions { PolicyDefaultLocalCluster = policyDefaultLocalCluster };
        Current = new PolicyInputs(PolicyTables.Empty, IpCache.Empty, policyAwareSelection);
    }

    /// <summary>The inputs of the last <see cref="Update"/> (no policy, empty ipcache before the first).</summary>
    public PolicyInputs Current { get; private set; }

    /// <summary>Policy document sets that failed to parse at runtime (each distinct failing set counted once).</summary>
    public long ParseFailures => Interlocked.Read(ref _parseFailures);

    /// <summary>The identity table the current tables were compiled against.</summary>
    public IdentityTable Identities => _identities;

    /// <summary>
    /// Brings <see cref="Current"/> up to date. A malformed policy document throws
    /// <see cref="PolicyParseException"/> (naming file, document and path) when <paramref name="startup"/> is
    /// true; otherwise it is logged once and counted, and the last good policy set stays in force.
    /// </summary>
    /// <param name="clusters">Every cluster's state, the local one first (<c>MeshControlPlane.ClusterStates</c>).</param>
    public PolicyInputs Update(KubernetesObjects local, IReadOnlyList<ClusterState> clusters, bool startup)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(clusters);
        bool policiesChanged = UpdatePolicies(local.Policies, startup);

        object[] identityInputs = new object[clusters.Count];
        object[] ipCacheInputs = new object[clusters.Count];
        for (int i = 0; i < clusters.Count; i++)
        {
            identityInputs[i] = clusters[i].Identities;
            ipCacheInputs[i] = clusters[i].IpCache;
        }
        bool identitiesChanged = !SameReferences(identityInputs, _identityInputs);
        bool ipCacheChanged = !SameReferences(ipCacheInputs, _ipCacheInputs);
        // Named ports come from the local Services/EndpointSlices: any manifest change may move them.
        bool namedPortsChanged = !ReferenceEquals(local, _namedPortsInput);

        if (_haveCompiled && !policiesChanged && !identitiesChanged && !ipCacheChanged && !namedPortsChanged)
            return Current;

        if (identitiesChanged || !_haveCompiled)
            _identities = BuildIdentities(clusters);
        if (ipCacheChanged || !_haveCompiled)
            _ipCache = BuildIpCache(clusters);
        if (namedPortsChanged || !_haveCompiled)
            _options = _options with { NamedPorts = NamedPortsOf(local) };

        PolicyTables tables = _tables;
        if (policiesChanged || identitiesChanged || namedPortsChanged || !_haveCompiled)
        {
            PolicyTables compiled = PolicyCompiler.Compile(_policies, _identities, _localCluster, _options, _tablesRevision + 1);
            foreach (string warning in compiled.Warnings)
                LogOnce(warning);
            if (!SameTables(compiled, _tables))
            {
                tables = compiled;
                _tablesRevision++;
            }
        }

        _identityInputs = identityInputs;
        _ipCacheInputs = ipCacheInputs;
        _namedPortsInput = local;
        _haveCompiled = true;
        if (!ReferenceEquals(tables, _tables) || !ReferenceEquals(_ipCache, Current.IpCache))
        {
            _tables = tables;
            Current = new PolicyInputs(tables, _ipCache, _policyAwareSelection);
        }
        return Current;
    }

    /// <summary>Parses the documents if they differ from the last good (or last failing) set; true when the policy set changed.</summary>
    private bool UpdatePolicies(ImmutableArray<PolicyDocument> documents, bool startup)
    {
        PolicyDocument[] docs = documents.IsDefault ? [] : [.. documents];
        if (SameReferences(docs, _goodDocuments) || (_failedDocuments is not null && SameReferences(docs, _failedDocuments)))
            return false;

        var policies = ImmutableArray.CreateBuilder<CiliumPolicy>();
        var parsed = new Dictionary<PolicyDocument, PolicyParseResult>(ReferenceEqualityComparer.Instance);
        try
        {
            foreach (PolicyDocument doc in docs)
            {
                if (!_parsed.TryGetValue(doc, out PolicyParseResult? result))
                    result = PolicyParser.ParseDocument(doc.Document, doc.Source.FileName, doc.Source.Document);
                parsed[doc] = result;
                // The parser's warnings (L7 rules) are the compiler's too: logged once from the tables below.
                policies.AddRange(result.Policies);
            }
        }
        catch (PolicyParseException e)
        {
            if (startup)
                throw;
            _failedDocuments = docs;
            Interlocked.Increment(ref _parseFailures);
            _log($"policy: {e.Message}; keeping the last good policy set ({_policies.Length} policies)");
            return false;
        }

        // Drop cached parses of documents that are gone, keep the rest for the next change.
        _parsed.Clear();
        foreach (var pair in parsed)
            _parsed[pair.Key] = pair.Value;
        _goodDocuments = docs;
        _failedDocuments = null;
        _policies = policies.ToImmutable();
        return true;
    }

    private IdentityTable BuildIdentities(IReadOnlyList<ClusterState> clusters)
    {
        var identities = new List<KeyValuePair<uint, LabelSet>>();
        foreach (ClusterState cluster in clusters)
        {
            foreach (var (id, entry) in cluster.Identities)
            {
                if (ReservedIdentities.IsReserved(id) || id > 0xFF_FFFF)
                {
                    LogOnce($"policy: cluster {cluster.Name}: identity {id} is outside the allocatable range 256–16777215, ignored");
                    continue;
                }
                try
                {
                    identities.Add(new(id, LabelSet.Create(entry.Labels.Select(Label.Parse))));
                }
                catch (FormatException e)
                {
                    LogOnce($"policy: cluster {cluster.Name}: identity {id}: {e.Message}, ignored");
                }
            }
        }
        return IdentityTable.Create(identities);
    }

    private IpCache BuildIpCache(IReadOnlyList<ClusterState> clusters)
    {
        var builder = new IpCacheBuilder();
        // Local cluster first, then remotes: a remote's host identity reads as remote-node (SPEC §6).
        for (int i = 0; i < clusters.Count; i++)
        {
            bool remote = clusters[i].Name != _localCluster;
            foreach (var entry in clusters[i].IpCache.Values.OrderBy(e => e.Prefix, StringComparer.Ordinal))
                builder.Add(entry.Prefix, entry.Identity, fromRemoteCluster: remote);
        }
        return builder.Build();
    }

    /// <summary>Port names of the local EndpointSlices and Services → their numeric (target) ports.</summary>
    private static ImmutableDictionary<string, ImmutableArray<(L4Protocol Protocol, ushort Port)>> NamedPortsOf(KubernetesObjects local)
    {
        var byName = new SortedDictionary<string, SortedSet<(L4Protocol, ushort)>>(StringComparer.Ordinal);
        void Add(string name, L4Protocol protocol, ushort port)
        {
            if (name.Length == 0 || port == 0)
                return;
            if (!byName.TryGetValue(name, out var set))
                byName[name] = set = new SortedSet<(L4Protocol, ushort)>();
            set.Add((protocol, port));
        }
        foreach (LocalEndpointSlice slice in local.EndpointSlices)
            foreach (EndpointSlicePort port in slice.Ports)
                Add(port.Name, port.Protocol, port.Port);
        foreach (LocalService service in local.Services)
            foreach (LocalServicePort port in service.Ports)
                if (ushort.TryParse(port.TargetPort, out ushort target))
                    Add(port.Name, port.Protocol, target);
        return byName.ToImmutableDictionary(p => p.Key, p => p.Value.ToImmutableArray(), StringComparer.Ordinal);
    }

    private void LogOnce(string message)
    {
        if (_logged.Add(message))
            _log(message);
    }

    // ReadOnlySpan, not Span: the arrays may be covariant (a PolicyDocument[] seen as object[]).
    private static bool SameReferences(object[] a, object[] b) =>
        new ReadOnlySpan<object>(a).SequenceEqual(b, ReferenceEqualityComparer.Instance);

    /// <summary>Same allow entries and default-deny sets: the verdicts are the same (the fast-path tables are built from exactly these).</summary>
    private static bool SameTables(PolicyTables a, PolicyTables b)
    {
        if (a.Entries.Length != b.Entries.Length || !a.IngressEnforced.SetEquals(b.IngressEnforced) || !a.EgressEnforced.SetEquals(b.EgressEnforced))
            return false;
        for (int i = 0; i < a.Entries.Length; i++)
        {
            PolicyEntry x = a.Entries[i], y = b.Entries[i];
            if (x.Endpoint != y.Endpoint || x.Direction != y.Direction || x.Protocol != y.Protocol || x.Port != y.Port
                || x.EndPort != y.EndPort || x.AllPeers != y.AllPeers || !x.Peers.AsSpan().SequenceEqual(y.Peers.AsSpan()))
                return false;
        }
        return true;
    }
}

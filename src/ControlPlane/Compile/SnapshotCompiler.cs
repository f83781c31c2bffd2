using FastPath.Addressing;
using FastPath.ControlPlane.Model;
using FastPath.ControlPlane.Policy;
using FastPath.Maglev;
using FastPath.Policy;
using FastPath.Snapshot;

namespace FastPath.ControlPlane.Compile;

/// <summary>
/// Turns desired state into the immutable <see cref="ForwardingSnapshot"/> the fast path forwards
/// with: stable backend ids for every known backend, one Maglev table per frontend over its
/// affinity-selected backends, and the policy state (verdicts, ipcache, policy revision). Runs off
/// the fast path (on the control plane's thread); one instance per agent, because it owns the
/// backend id assignment and the policy revision.
///
/// Policy-aware selection (<c>--lb-policy-aware-selection</c>, SPEC §7): the client identity is
/// only known on a flow's first packet, so the tables are precomputed here: for each frontend and
/// each client identity that can occur (every identity in the ipcache, plus world), the backends
/// that identity may reach (<see cref="PolicyVerdicts.AllowsFlow"/>). Only when that is a strict,
/// non-empty subset does the identity get its own Maglev table over the subset (identical subsets
/// share one table); everyone else uses the frontend's table — with no allowed backend at all the
/// flow is dropped policy_denied with the direction, as without the flag. Cost: one table of M
/// slots per (frontend, distinct restricted subset); a policy that restricts many identities
/// differently across many frontends multiplies that.
/// </summary>
public sealed class SnapshotCompiler
{
    private readonly MaglevParameters _maglev;
    private readonly Func<string, ushort> _clusterIdOf;
    private readonly BackendIdAllocator _ids = new();
    // Frontends are keyed by (VIP, port, protocol) too, so the same allocator gives them stable
    // ids (reused lowest-first once a frontend is gone): workers count traffic per frontend id.
    private readonly BackendIdAllocator _frontendIds = new();
    private readonly MaglevTableCache _tables = new();
    private readonly Action<string>? _warn;
    private PolicyInputs _lastPolicy = PolicyInputs.None;
    private long _policyRevision;

    /// <param name="clusterIdOf">Numeric id of a cluster by name (0 when unknown or standalone).</param>
    public SnapshotCompiler(MaglevParameters maglev, Func<string, ushort> clusterIdOf, Action<string>? warn = null)
    {
        _maglev = maglev;
        _clusterIdOf = clusterIdOf;
        _warn = warn;
    }

    public MaglevParameters Maglev => _maglev;

    /// <summary>Maglev tables actually built so far (the rest came from the cache).</summary>
    public int MaglevBuilds => _tables.Builds;

    /// <summary>Current policy revision (0 until policy inputs other than <see cref="PolicyInputs.None"/> are compiled).</summary>
    public long PolicyRevision => _policyRevision;

    /// <summary>Compiles services only; the policy inputs of the previous compile stay in force.</summary>
    public ForwardingSnapshot Compile(DesiredState state) => Compile(state, _lastPolicy);

    /// <summary>Compiles services and policy into one snapshot (published atomically together).</summary>
    public ForwardingSnapshot Compile(DesiredState state, PolicyInputs policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (!ReferenceEquals(policy.Tables, _lastPolicy.Tables) || !ReferenceEquals(policy.IpCache, _lastPolicy.IpCache)
            || policy.PolicyAwareSelection != _lastPolicy.PolicyAwareSelection)
            _policyRevision++;
        _lastPolicy = policy;

        var forwardable = state.Frontends.Where(IsForwardable).ToList();
        var ids = _ids.Assign(forwardable.SelectMany(f => f.AllBackends).Select(b => (b.Address, b.Port, b.Protocol)));
        var frontendIds = _frontendIds.Assign(forwardable.Select(f => (f.Address, f.Port, f.Protocol)));

        var builder = new ForwardingSnapshotBuilder(_maglev, tablesAreImmutable: true); // tables come from _tables and are never written
        var added = new HashSet<uint>();
        foreach (var frontend in forwardable)
        {
            foreach (var backend in frontend.AllBackends)
            {
                uint id = ids[(backend.Address, backend.Port, backend.Protocol)];
                if (added.Add(id))
                    builder.AddBackend(id, backend.Address, backend.Port, backend.Protocol, _clusterIdOf(backend.Cluster));
            }
        }

        var maglevBackends = new List<MaglevBackend>();
        foreach (var frontend in forwardable)
        {
            maglevBackends.Clear();
            foreach (var backend in frontend.Backends)
                maglevBackends.Add(new MaglevBackend(ids[(backend.Address, backend.Port, backend.Protocol)],
                    backend.Address, backend.Port, backend.Protocol, backend.Weight));
            uint[] table = maglevBackends.Count == 0 ? [] : _tables.GetOrBuild(maglevBackends, _maglev);
            builder.AddFrontend(frontend.Address, frontend.Port, frontend.Protocol,
                frontend.Service.Namespace, frontend.Service.Name, table, frontendIds[(frontend.Address, frontend.Port, frontend.Protocol)]);
            if (policy.PolicyAwareSelection && maglevBackends.Count > 1)
                AddIdentityTables(builder, frontend, maglevBackends, policy);
        }
        builder.SetPolicy(policy.Tables.Verdicts, policy.IpCache, _policyRevision, policy.PolicyAwareSelection);
        _tables.Rotate();
        return builder.Build(state.Revision);
    }

    private void AddIdentityTables(ForwardingSnapshotBuilder builder, DesiredFrontend frontend, List<MaglevBackend> backends, PolicyInputs policy)
    {
        PolicyVerdicts verdicts = policy.Tables.Verdicts;
        var backendIdentities = new uint[backends.Count];
        for (int i = 0; i < backends.Count; i++)
            backendIdentities[i] = policy.IpCache.Lookup(backends[i].Address);

        var clients = new SortedSet<uint>(policy.IpCache.Identities) { IpCache.WorldIdentity };
        var subset = new List<MaglevBackend>();
        foreach (uint client in clients)
        {
            subset.Clear();
            for (int i = 0; i < backends.Count; i++)
            {
                if (verdicts.AllowsFlow(client, backendIdentities[i], (byte)frontend.Protocol, backends[i].Port, out _))
                    subset.Add(backends[i]);
            }
            if (subset.Count == 0 || subset.Count == backends.Count)
                continue;
            uint[] table = _tables.GetOrBuild(subset, _maglev);
            builder.AddIdentityTable(frontend.Address, frontend.Port, frontend.Protocol, client, table);
        }
    }

    private bool IsForwardable(DesiredFrontend frontend)
    {
        if (frontend.Protocol is L4Protocol.Tcp or L4Protocol.Udp)
            return true;
        _warn?.Invoke($"service {frontend.Service} frontend {frontend}: protocol {frontend.Protocol.ToName()} is not forwarded by the fast path (TCP and UDP only)");
        return false;
    }
}

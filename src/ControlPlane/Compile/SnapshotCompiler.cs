using FastPath.Addressing;
using FastPath.ControlPlane.Model;
using FastPath.Maglev;
using FastPath.Snapshot;

namespace FastPath.ControlPlane.Compile;

/// <summary>
/// Turns desired state into the immutable <see cref="ForwardingSnapshot"/> the fast path forwards
/// with: stable backend ids for every known backend, one Maglev table per frontend over its
/// affinity-selected backends. Runs off the fast path (on the control plane's thread); one
/// instance per agent, because it owns the backend id assignment.
/// </summary>
public sealed class SnapshotCompiler
{
    private readonly MaglevParameters _maglev;
    private readonly Func<string, ushort> _clusterIdOf;
    private readonly BackendIdAllocator _ids = new();
    private readonly Action<string>? _warn;

    /// <param name="clusterIdOf">Numeric id of a cluster by name (0 when unknown or standalone).</param>
    public SnapshotCompiler(MaglevParameters maglev, Func<string, ushort> clusterIdOf, Action<string>? warn = null)
    {
        _maglev = maglev;
        _clusterIdOf = clusterIdOf;
        _warn = warn;
    }

    public MaglevParameters Maglev => _maglev;

    public ForwardingSnapshot Compile(DesiredState state)
    {
        var forwardable = state.Frontends.Where(IsForwardable).ToList();
        var ids = _ids.Assign(forwardable.SelectMany(f => f.AllBackends).Select(b => (b.Address, b.Port, b.Protocol)));

        var builder = new ForwardingSnapshotBuilder(_maglev);
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
            uint[] table = maglevBackends.Count == 0 ? [] : MaglevTableBuilder.Build(maglevBackends.ToArray(), _maglev);
            builder.AddFrontend(frontend.Address, frontend.Port, frontend.Protocol,
                frontend.Service.Namespace, frontend.Service.Name, table);
        }
        return builder.Build(state.Revision);
    }

    private bool IsForwardable(DesiredFrontend frontend)
    {
        if (frontend.Protocol is L4Protocol.Tcp or L4Protocol.Udp)
            return true;
        _warn?.Invoke($"service {frontend.Service} frontend {frontend}: protocol {frontend.Protocol.ToName()} is not forwarded by the fast path (TCP and UDP only)");
        return false;
    }
}

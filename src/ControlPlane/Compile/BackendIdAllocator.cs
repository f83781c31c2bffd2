using FastPath.Addressing;

namespace FastPath.ControlPlane.Compile;

/// <summary>
/// Gives every backend (ip, port, protocol) a numeric id that stays the same across snapshots
/// while the backend exists, like Cilium's backend ids: ct entries hold the id, so a table
/// rebuild never moves an existing flow. Id 0 means "none" and is never handed out. Ids of
/// backends that disappeared are reused lowest-first; the fast path also compares the backend
/// address stored in ct, so a reused id cannot redirect an old flow. Not thread-safe: one
/// compiler owns it.
/// </summary>
public sealed class BackendIdAllocator
{
    private readonly Dictionary<(NetAddress, ushort, L4Protocol), uint> _ids = new();
    private readonly SortedSet<uint> _free = new();
    private uint _next = 1;

    public int Count => _ids.Count;

    /// <summary>Ids for the current backend set; backends not listed release their ids.</summary>
    public IReadOnlyDictionary<(NetAddress, ushort, L4Protocol), uint> Assign(IEnumerable<(NetAddress Address, ushort Port, L4Protocol Protocol)> backends)
    {
        var wanted = new HashSet<(NetAddress, ushort, L4Protocol)>(backends);
        foreach (var key in _ids.Keys.Where(k => !wanted.Contains(k)).ToList())
        {
            _free.Add(_ids[key]);
            _ids.Remove(key);
        }
        // Deterministic order (so equal inputs give equal ids) without formatting 30,000 addresses.
        var fresh = wanted.Where(k => !_ids.ContainsKey(k)).ToArray();
        Array.Sort(fresh, CompareKeys);
        foreach (var key in fresh)
        {
            if (_ids.ContainsKey(key))
                continue;
            uint id;
            if (_free.Count > 0)
            {
                id = _free.Min;
                _free.Remove(id);
            }
            else
            {
                id = _next++;
            }
            _ids[key] = id;
        }
        return new Dictionary<(NetAddress, ushort, L4Protocol), uint>(_ids);
    }

    private static int CompareKeys((NetAddress Address, ushort Port, L4Protocol Protocol) a, (NetAddress Address, ushort Port, L4Protocol Protocol) b)
    {
        Span<byte> x = stackalloc byte[16];
        Span<byte> y = stackalloc byte[16];
        a.Address.WriteBytes(x);
        b.Address.WriteBytes(y);
        int byAddress = x.SequenceCompareTo(y);
        if (byAddress != 0)
            return byAddress;
        return a.Port != b.Port ? a.Port.CompareTo(b.Port) : a.Protocol.CompareTo(b.Protocol);
    }
}

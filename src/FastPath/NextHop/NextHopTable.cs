using System.Runtime.CompilerServices;
using FastPath.Addressing;

namespace FastPath.NextHop;

/// <summary>
/// Immutable destination-address → next hop map, built by the resolver in the background
/// and swapped in atomically; workers only read it. Open addressing, linear probing,
/// power-of-two capacity at most half full, so a miss ends quickly.
/// </summary>
public sealed class NextHopTable
{
    private readonly NetAddress[] _keys;
    private readonly NextHop[] _values;
    private readonly bool[] _used;
    private readonly int _mask;

    public static NextHopTable Empty { get; } = new(new Dictionary<NetAddress, NextHop>());

    public int Count { get; }

    public NextHopTable(IReadOnlyDictionary<NetAddress, NextHop> entries)
    {
        int capacity = 16;
        while (capacity < entries.Count * 2)
            capacity <<= 1;
        _keys = new NetAddress[capacity];
        _values = new NextHop[capacity];
        _used = new bool[capacity];
        _mask = capacity - 1;
        foreach (var (address, hop) in entries)
        {
            int i = (int)(address.Hash32() & (uint)_mask);
            while (_used[i])
                i = (i + 1) & _mask;
            _used[i] = true;
            _keys[i] = address;
            _values[i] = hop;
        }
        Count = entries.Count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(in NetAddress destination, out NextHop hop)
    {
        int i = (int)(destination.Hash32() & (uint)_mask);
        while (_used[i])
        {
            if (_keys[i] == destination)
            {
                hop = _values[i];
                return true;
            }
            i = (i + 1) & _mask;
        }
        hop = default;
        return false;
    }

    public IEnumerable<KeyValuePair<NetAddress, NextHop>> Entries()
    {
        for (int i = 0; i < _keys.Length; i++)
            if (_used[i])
                yield return new(_keys[i], _values[i]);
    }
}

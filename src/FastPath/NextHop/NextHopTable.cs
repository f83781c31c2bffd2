using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastPath.Addressing;

namespace FastPath.NextHop;

/// <summary>
/// Immutable destination-address → next hop map, built by the resolver in the background
/// and swapped in atomically; workers only read it. Open addressing, linear probing,
/// power-of-two capacity at most half full, so a miss ends quickly. Key, value and used flag
/// sit together in one 48-byte slot, so a hit reads one slot instead of three arrays.
/// </summary>
public sealed class NextHopTable
{
    private struct Slot
    {
        public NetAddress Key;
        public NextHop Value;
        public bool Used;
    }

    private readonly Slot[] _slots;
    private readonly int _mask;

    public static NextHopTable Empty { get; } = new(new Dictionary<NetAddress, NextHop>());

    public int Count { get; }

    public NextHopTable(IReadOnlyDictionary<NetAddress, NextHop> entries)
    {
        int capacity = 16;
        while (capacity < entries.Count * 2)
            capacity <<= 1;
        _slots = new Slot[capacity];
        _mask = capacity - 1;
        foreach (var (address, hop) in entries)
        {
            int i = (int)(address.Hash32() & (uint)_mask);
            while (_slots[i].Used)
                i = (i + 1) & _mask;
            _slots[i] = new Slot { Key = address, Value = hop, Used = true };
        }
        Count = entries.Count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(in NetAddress destination, out NextHop hop)
    {
        Slot[] slots = _slots;
        int mask = _mask;
        int i = (int)(destination.Hash32() & (uint)mask);
        while (true)
        {
            ref Slot slot = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(slots), i); // i ≤ mask < length
            if (!slot.Used)
                break;
            if (slot.Key == destination)
            {
                hop = slot.Value;
                return true;
            }
            i = (i + 1) & mask;
        }
        hop = default;
        return false;
    }

    public IEnumerable<KeyValuePair<NetAddress, NextHop>> Entries()
    {
        for (int i = 0; i < _slots.Length; i++)
            if (_slots[i].Used)
                yield return new(_slots[i].Key, _slots[i].Value);
    }
}

using System.Runtime.CompilerServices;

namespace FastPath.Policy;

/// <summary>
/// A read-only open-addressing map from a 64-bit key to an int, built once and then only read:
/// the hot lookups in <see cref="PolicyVerdicts"/> go through it instead of a Dictionary
/// (no hashing through interfaces, no allocation). Linear probing, load factor ≤ 0.5.
/// </summary>
internal sealed class UInt64IndexMap
{
    /// <summary>Marks an empty slot. Callers' keys never reach it: they pack ≤ 56 bits.</summary>
    public const ulong EmptyKey = ulong.MaxValue;

    private readonly ulong[] _keys;
    private readonly int[] _values;
    private readonly int _shift;

    public UInt64IndexMap(IReadOnlyList<KeyValuePair<ulong, int>> entries)
    {
        int capacity = 8;
        while (capacity < entries.Count * 2)
            capacity <<= 1;
        _keys = new ulong[capacity];
        _values = new int[capacity];
        Array.Fill(_keys, EmptyKey);
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)capacity);
        int mask = capacity - 1;
        foreach (var (key, value) in entries)
        {
            if (key == EmptyKey)
                throw new ArgumentException("key collides with the empty-slot sentinel", nameof(entries));
            int slot = Slot(key);
            while (_keys[slot] != EmptyKey && _keys[slot] != key)
                slot = (slot + 1) & mask;
            _keys[slot] = key;
            _values[slot] = value;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);

    /// <summary>The value for <paramref name="key"/>, or -1 when absent.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ulong key)
    {
        ulong[] keys = _keys;
        int mask = keys.Length - 1;
        int slot = Slot(key);
        while (true)
        {
            ulong k = keys[slot];
            if (k == key)
                return _values[slot];
            if (k == EmptyKey)
                return -1;
            slot = (slot + 1) & mask;
        }
    }
}

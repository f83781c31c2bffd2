using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastPath.Addressing;

namespace FastPath.Policy;

/// <summary>One ipcache entry: an address prefix and the identity it maps to. For IPv4 the
/// prefix length counts IPv4 bits (0–32); for IPv6, 0–128. A host entry uses the full length.</summary>
public readonly record struct IpCacheEntry(NetAddress Address, byte PrefixLength, uint Identity)
{
    public int MaxPrefixLength => Address.IsV4 ? 32 : 128;
}

/// <summary>
/// ip → identity for the fast path, queried on flow creation. An exact host entry is just the
/// longest prefix, so one structure serves both: one open-addressing table keyed by
/// (masked address, prefix length), probed once per prefix length present, longest first.
/// IPv4 and IPv6 keep separate length lists, so a v4 lookup probes only v4 lengths.
/// An address no entry covers is world (2). Lookups allocate nothing. Built by the control
/// plane's IpCacheBuilder; immutable.
/// </summary>
public sealed class IpCache
{
    /// <summary>Reserved identity of addresses outside the cluster mesh (SPEC §6).</summary>
    public const uint WorldIdentity = 2;

    // Slot arrays. _lengths holds (mapped prefix length + 1); 0 marks an empty slot.
    private readonly ulong[] _high;
    private readonly ulong[] _low;
    private readonly byte[] _lengths;
    private readonly uint[] _identities;
    private readonly int _mask;
    // Mapped (0–128) prefix lengths present, longest first.
    private readonly byte[] _v4Lengths;
    private readonly byte[] _v6Lengths;

    public int Count { get; }

    /// <summary>The distinct identities entries map to, sorted ascending (off the hot path: the
    /// compiler enumerates them for policy-aware Maglev tables).</summary>
    public IReadOnlyList<uint> Identities { get; }

    public static IpCache Empty { get; } = new(ReadOnlySpan<IpCacheEntry>.Empty);

    /// <summary>Builds the table. A later entry for the same prefix replaces an earlier one.</summary>
    public IpCache(ReadOnlySpan<IpCacheEntry> entries)
    {
        int capacity = 8;
        while (capacity < entries.Length * 2)
            capacity <<= 1;
        _high = new ulong[capacity];
        _low = new ulong[capacity];
        _lengths = new byte[capacity];
        _identities = new uint[capacity];
        _mask = capacity - 1;
        var v4 = new SortedSet<byte>(Comparer<byte>.Create((a, b) => b.CompareTo(a)));
        var v6 = new SortedSet<byte>(Comparer<byte>.Create((a, b) => b.CompareTo(a)));
        int count = 0;
        foreach (var e in entries)
        {
            if (e.PrefixLength > e.MaxPrefixLength)
                throw new ArgumentOutOfRangeException(nameof(entries), $"{e.Address}/{e.PrefixLength}: prefix length above {e.MaxPrefixLength}");
            if (e.Identity == 0 || e.Identity > IdentitySet.MaxIdentity)
                throw new ArgumentOutOfRangeException(nameof(entries), $"{e.Address}/{e.PrefixLength}: identity {e.Identity} is not a 24-bit non-zero identity");
            byte mapped = (byte)(e.Address.IsV4 ? 96 + e.PrefixLength : e.PrefixLength);
            (e.Address.IsV4 ? v4 : v6).Add(mapped);
            Split(e.Address, out ulong hi, out ulong lo);
            Mask(mapped, ref hi, ref lo);
            int slot = Slot(hi, lo, mapped);
            while (_lengths[slot] != 0 && !(_lengths[slot] == mapped + 1 && _high[slot] == hi && _low[slot] == lo))
                slot = (slot + 1) & _mask;
            if (_lengths[slot] == 0)
                count++;
            _high[slot] = hi;
            _low[slot] = lo;
            _lengths[slot] = (byte)(mapped + 1);
            _identities[slot] = e.Identity;
        }
        Count = count;
        var identities = new SortedSet<uint>();
        for (int i = 0; i < _lengths.Length; i++)
            if (_lengths[i] != 0)
                identities.Add(_identities[i]);
        Identities = identities.ToArray();
        _v4Lengths = v4.ToArray();
        _v6Lengths = v6.ToArray();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Split(in NetAddress address, out ulong hi, out ulong lo)
    {
        // The address's own 16 bytes, read in place: a stackalloc copy also cost the method a
        // stack-overrun cookie check on every lookup.
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<NetAddress>(in address));
        hi = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        lo = BinaryPrimitives.ReadUInt64BigEndian(bytes.Slice(8));
    }

    /// <summary>Keeps the first <paramref name="length"/> bits (big-endian bit order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Mask(int length, ref ulong hi, ref ulong lo)
    {
        if (length >= 64)
        {
            lo &= length == 128 ? ulong.MaxValue : ~(ulong.MaxValue >> (length - 64));
        }
        else
        {
            lo = 0;
            hi &= length == 0 ? 0 : ~(ulong.MaxValue >> length);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(ulong hi, ulong lo, int length)
    {
        ulong h = (hi * 0x9E3779B97F4A7C15UL) ^ BitOperations.RotateLeft(lo * 0xC2B2AE3D27D4EB4FUL, 31) ^ ((ulong)length * 0x165667B19E3779F9UL);
        return (int)(h >> 32) & _mask;
    }

    /// <summary>Identity of the longest prefix covering <paramref name="address"/>; world (2) if none.</summary>
    public uint Lookup(NetAddress address)
    {
        Split(address, out ulong hi0, out ulong lo0);
        byte[] lengths = address.IsV4 ? _v4Lengths : _v6Lengths;
        for (int i = 0; i < lengths.Length; i++)
        {
            int length = lengths[i];
            ulong hi = hi0, lo = lo0;
            Mask(length, ref hi, ref lo);
            int slot = Slot(hi, lo, length);
            while (true)
            {
                byte stored = _lengths[slot];
                if (stored == 0)
                    break;
                if (stored == length + 1 && _high[slot] == hi && _low[slot] == lo)
                    return _identities[slot];
                slot = (slot + 1) & _mask;
            }
        }
        return WorldIdentity;
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastPath.Policy;

/// <summary>
/// An immutable set of 24-bit security identities, queried on flow creation.
/// Three layouts, chosen once at construction from the set's shape:
/// <list type="bullet">
/// <item>small (≤ <see cref="VectorScanMaxCount"/>): a Vector256 compare over the sorted array;</item>
/// <item>dense (bitmap no bigger than <see cref="BitmapMaxBytesPerId"/> bytes per member): a bitmap over [min, max];</item>
/// <item>otherwise: an open-addressing hash (load ≤ 0.5). Binary search was measured and lost to
/// hashing from 128 members up (README), so it is kept only as a benchmark reference.</item>
/// </list>
/// <see cref="Contains"/> never allocates, never throws and takes no locks.
/// </summary>
public sealed class IdentitySet
{
    /// <summary>Largest set scanned linearly with vectors. MEASURED, not guessed: see
    /// src/FastPath/Policy/README.md (IdentitySetBenchmarks) for the crossover table.</summary>
    public const int VectorScanMaxCount = 32;

    /// <summary>A bitmap is used when it costs at most this many bytes per member
    /// (a sorted array costs 4). 8 bytes/member = 64 bits of range per member.</summary>
    public const int BitmapMaxBytesPerId = 8;

    /// <summary>Largest identity: identities are 24 bits (SPEC §6).</summary>
    public const uint MaxIdentity = (1u << 24) - 1;

    private enum Layout : byte { Vector, Hash, Bitmap, All }

    /// <summary>Empty hash slot. Identities are 24 bits, so no member can equal it.</summary>
    private const uint EmptySlot = uint.MaxValue;

    private readonly uint[] _sorted;
    private readonly ulong[] _bitmap;
    private readonly uint _bitmapBase;
    private readonly uint _bitmapSpan;
    private readonly uint[] _hash;
    private readonly int _hashShift;
    private readonly Layout _layout;

    /// <summary>The empty set: nothing allowed.</summary>
    public static IdentitySet Empty { get; } = new(Array.Empty<uint>(), allowAll: false);

    /// <summary>Every identity, including world and unknown ones: a rule with ports but no peer selector.</summary>
    public static IdentitySet All { get; } = new(Array.Empty<uint>(), allowAll: true);

    private IdentitySet(uint[] sortedUnique, bool allowAll)
    {
        _sorted = sortedUnique;
        _bitmap = Array.Empty<ulong>();
        _hash = Array.Empty<uint>();
        if (allowAll)
        {
            _layout = Layout.All;
            return;
        }
        int n = sortedUnique.Length;
        if (n <= VectorScanMaxCount)
        {
            _layout = Layout.Vector;
            return;
        }
        ulong span = (ulong)sortedUnique[n - 1] - sortedUnique[0] + 1;
        if (span / 8 <= (ulong)n * BitmapMaxBytesPerId)
        {
            _layout = Layout.Bitmap;
            _bitmapBase = sortedUnique[0];
            _bitmapSpan = (uint)span;
            _bitmap = new ulong[(span + 63) / 64];
            foreach (uint id in sortedUnique)
            {
                uint bit = id - _bitmapBase;
                _bitmap[bit >> 6] |= 1UL << (int)(bit & 63);
            }
            return;
        }
        _layout = Layout.Hash;
        int capacity = 16;
        while (capacity < n * 2)
            capacity <<= 1;
        _hash = new uint[capacity];
        Array.Fill(_hash, EmptySlot);
        _hashShift = 32 - BitOperations.Log2((uint)capacity);
        foreach (uint id in sortedUnique)
        {
            int slot = HashSlot(id, _hashShift);
            while (_hash[slot] != EmptySlot)
                slot = (slot + 1) & (capacity - 1);
            _hash[slot] = id;
        }
    }

    /// <summary>Fibonacci hashing: the top bits of id × 2^32/φ; spreads clustered ids (one cluster's range).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int HashSlot(uint id, int shift) => (int)((id * 0x9E3779B1u) >> shift);

    /// <summary>Builds a set from any identities (order and duplicates do not matter).</summary>
    public static IdentitySet Create(IEnumerable<uint> identities)
    {
        var array = identities.ToArray();
        Array.Sort(array);
        int w = 0;
        for (int r = 0; r < array.Length; r++)
        {
            if (array[r] > MaxIdentity)
                throw new ArgumentOutOfRangeException(nameof(identities), $"identity {array[r]} does not fit in 24 bits");
            if (w == 0 || array[w - 1] != array[r])
                array[w++] = array[r];
        }
        if (w == 0)
            return Empty;
        Array.Resize(ref array, w);
        return new IdentitySet(array, allowAll: false);
    }

    /// <summary>True for <see cref="All"/>.</summary>
    public bool IsAll => _layout == Layout.All;

    public int Count => _sorted.Length;

    /// <summary>The members, sorted ascending (empty for <see cref="All"/>).</summary>
    public ReadOnlySpan<uint> Members => _sorted;

    /// <summary>Name of the layout chosen, for tests and diagnostics.</summary>
    public string LayoutName => _layout.ToString().ToLowerInvariant();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(uint identity)
    {
        switch (_layout)
        {
            case Layout.Vector: return ContainsVector(_sorted, identity);
            case Layout.Bitmap:
                uint bit = identity - _bitmapBase; // wraps to a huge value below the base
                return bit < _bitmapSpan && (_bitmap[bit >> 6] & (1UL << (int)(bit & 63))) != 0;
            case Layout.Hash: return ContainsHash(identity);
            default: return true;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool ContainsHash(uint identity)
    {
        if (identity > MaxIdentity)
            return false; // would otherwise compare equal to EmptySlot
        uint[] table = _hash;
        int mask = table.Length - 1;
        int slot = HashSlot(identity, _hashShift);
        while (true)
        {
            uint v = table[slot];
            if (v == identity)
                return true;
            if (v == EmptySlot)
                return false;
            slot = (slot + 1) & mask;
        }
    }

    /// <summary>Linear Vector256 compare; exposed for the crossover benchmark.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool ContainsVector(ReadOnlySpan<uint> sorted, uint identity)
    {
        ref uint start = ref MemoryMarshal.GetReference(sorted);
        nuint n = (nuint)sorted.Length;
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated && n >= (nuint)Vector256<uint>.Count)
        {
            var needle = Vector256.Create(identity);
            nuint lastBlock = n - (nuint)Vector256<uint>.Count;
            for (; i <= lastBlock; i += (nuint)Vector256<uint>.Count)
            {
                if (Vector256.EqualsAny(Vector256.LoadUnsafe(ref start, i), needle))
                    return true;
            }
            // Tail: re-check the last full block instead of a scalar loop (overlap is harmless).
            if (i < n)
                return Vector256.EqualsAny(Vector256.LoadUnsafe(ref start, lastBlock), needle);
            return false;
        }
        for (; i < n; i++)
        {
            if (Unsafe.Add(ref start, i) == identity)
                return true;
        }
        return false;
    }

    /// <summary>Branch-free binary search; not used by a layout (hashing measured faster), kept as the
    /// benchmark's reference for the vector-scan crossover.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool ContainsBinary(ReadOnlySpan<uint> sorted, uint identity)
    {
        ref uint start = ref MemoryMarshal.GetReference(sorted);
        int lo = 0;
        int len = sorted.Length;
        while (len > 1)
        {
            int half = len >> 1;
            // Conditional move rather than a branch: the probe sequence is data-dependent.
            lo = Unsafe.Add(ref start, lo + half - 1) < identity ? lo + half : lo;
            len -= half;
        }
        return len == 1 && Unsafe.Add(ref start, lo) == identity;
    }

    public override string ToString() => IsAll ? "{all}" : $"{{{Count} ids, {LayoutName}}}";
}

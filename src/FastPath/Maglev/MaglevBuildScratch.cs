using Microsoft.Extensions.ObjectPool;

namespace FastPath.Maglev;

/// <summary>
/// Reusable per-build buffers for <see cref="MaglevTableBuilder"/>, pooled so that concurrent
/// builds each get their own (no shared mutable statics) and repeated builds allocate nothing
/// once the buffers have grown to the largest backend count seen.
/// </summary>
internal sealed class MaglevBuildScratch
{
    private static readonly ObjectPool<MaglevBuildScratch> Pool =
        new DefaultObjectPool<MaglevBuildScratch>(new DefaultPooledObjectPolicy<MaglevBuildScratch>(), Environment.ProcessorCount * 2);

    // Indexed by eligible-backend number k (input order): hash string bytes and their lengths.
    public byte[] HashStrings = [];
    public int[] HashStringLengths = [];
    public uint[] InputIds = [];
    public ushort[] InputWeights = [];
    public int[] SortedToInput = [];
    public ulong[] SortPrefixes = [];   // first 8 hash string bytes, big-endian: the primary sort key

    // Indexed by sorted rank i (Cilium's backend order): the state of the round-robin fill.
    public int[] NextSlot = [];   // next permutation entry to try: offset + j*skip mod M
    public int[] Skip = [];
    public int[] Offset = [];
    public int[] SkipInverse = [];  // skip⁻¹ mod M, computed when the tail phase starts
    public double[] FreeSlots = []; // tail phase: free slots (as doubles for the vector kernels)
    public int[] Multiples = [];    // block probe: per backend k·skip mod M (MaglevBlockProbe.RowInts each)
    public uint[] Ids = [];
    public ushort[] Weights = [];
    public double[] WeightCounters = [];

    /// <summary>Sort order over input numbers, one delegate per scratch so sorting allocates nothing.</summary>
    public Comparison<int> Order { get; }

    public MaglevBuildScratch() => Order = new HashStringOrder(this).Compare;

    // One bit per table slot: set once the slot has a backend.
    private ulong[] _occupancy = [];

    /// <summary>A cleared occupancy bitmap for a table of <paramref name="tableSize"/> slots.</summary>
    public Span<ulong> Occupancy(int tableSize)
    {
        int words = (tableSize + 63) / 64;
        if (_occupancy.Length < words)
            _occupancy = new ulong[words];
        var bits = _occupancy.AsSpan(0, words);
        bits.Clear();
        return bits;
    }

    /// <summary>Room for the tail phase's free-slot list.</summary>
    public double[] FreeSlotBuffer(int count)
    {
        if (FreeSlots.Length < count)
            FreeSlots = new double[count];
        return FreeSlots;
    }

    /// <summary>Room for the block probe's per-backend multiples of skip.</summary>
    public int[] MultiplesBuffer(int count)
    {
        if (Multiples.Length < count)
            Multiples = new int[count];
        return Multiples;
    }

    public static MaglevBuildScratch Rent(int backendCount)
    {
        var scratch = Pool.Get();
        scratch.EnsureCapacity(backendCount);
        return scratch;
    }

    public static void Return(MaglevBuildScratch scratch) => Pool.Return(scratch);

    private void EnsureCapacity(int count)
    {
        if (InputIds.Length >= count)
            return;
        int capacity = Math.Max(count, InputIds.Length * 2);
        HashStrings = new byte[capacity * MaglevHashString.MaxBytes];
        HashStringLengths = new int[capacity];
        InputIds = new uint[capacity];
        InputWeights = new ushort[capacity];
        SortedToInput = new int[capacity];
        SortPrefixes = new ulong[capacity];
        NextSlot = new int[capacity];
        Skip = new int[capacity];
        Offset = new int[capacity];
        SkipInverse = new int[capacity];
        Ids = new uint[capacity];
        Weights = new ushort[capacity];
        WeightCounters = new double[capacity];
    }

    /// <summary>Orders backends by hash string bytes (Go's string order), then by id so that
    /// duplicate strings still give one deterministic table.</summary>
    private sealed class HashStringOrder(MaglevBuildScratch scratch) : IComparer<int>
    {
        public int Compare(int x, int y)
        {
            var a = scratch.HashStrings.AsSpan(x * MaglevHashString.MaxBytes, scratch.HashStringLengths[x]);
            var b = scratch.HashStrings.AsSpan(y * MaglevHashString.MaxBytes, scratch.HashStringLengths[y]);
            int byText = a.SequenceCompareTo(b);
            return byText != 0 ? byText : scratch.InputIds[x].CompareTo(scratch.InputIds[y]);
        }
    }
}

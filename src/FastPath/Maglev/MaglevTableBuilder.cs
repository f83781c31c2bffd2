using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastPath.Maglev;

/// <summary>
/// Builds a frontend's Maglev lookup table (SPEC §8) slot for slot identical to Cilium's
/// pkg/maglev GetLookupTable, so FastPath and Cilium nodes send a flow to the same backend.
///
/// Steps: drop weight-0 backends; format each backend's hash string; sort by it (byte order,
/// as Go compares strings) so the table never depends on input order; offset = h1 % M and
/// skip = h2 % (M-1) + 1 from MurmurHash3_x64_128(string, permutation seed); then fill the
/// M slots in turns, backend n % N first, each taking the next free slot of its permutation
/// offset + j·skip (mod M). Weights (Cilium's Envoy-inspired scheme) skip a backend's turn
/// while (n+1)·weight &lt; its counter, the counter starting at weight/N and growing by the
/// weight sum per turn taken; only when sum/N &gt; 1 (integer division) — so equal weights, and
/// weights of 1, are plain round robin. The counter is a double exactly as in Cilium, so the
/// rounding (and therefore the table) matches.
///
/// Unlike Cilium, the permutation is never materialised (N·M u64 entries): each backend keeps its
/// next position and steps it by skip, giving the same sequence in O(N) memory; occupancy is an
/// M-bit bitmap; and the last ~√M/2 free slots are assigned by computing where each lies in the
/// backend's permutation instead of walking to it. MaglevReferenceEquivalenceTests and the
/// Cilium-pinned tables check that none of this changes the result.
/// Weight-0 backends (Cilium: maintenance, no new flows) are left out before anything else.
/// Thread-safe: each build rents its own scratch buffers; a warm rebuild allocates nothing.
/// </summary>
public static class MaglevTableBuilder
{
    /// <summary>Slot value meaning "no backend" (SPEC: zero means none); also the build's empty marker.</summary>
    public const uint NoBackend = 0;

    /// <summary>Builds into a new array of <see cref="MaglevParameters.TableSize"/> slots.</summary>
    public static uint[] Build(ReadOnlySpan<MaglevBackend> backends, MaglevParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var table = new uint[parameters.TableSize];
        Build(backends, parameters, table);
        return table;
    }

    /// <summary>
    /// Fills <paramref name="table"/> (length M) with backend ids. No eligible backend → every
    /// slot <see cref="NoBackend"/>. Backend id 0 is rejected (it would read as "none").
    /// </summary>
    public static void Build(ReadOnlySpan<MaglevBackend> backends, MaglevParameters parameters, Span<uint> table)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        int m = parameters.TableSize;
        if (table.Length != m)
            throw new ArgumentException($"Maglev table has {table.Length} slots, expected the table size {m}.", nameof(table));

        table.Clear();
        int eligible = 0;
        foreach (ref readonly MaglevBackend backend in backends)
        {
            if (backend.Id == NoBackend)
                ThrowReservedId(backend);
            if (backend.Weight != 0)
                eligible++;
        }
        if (eligible == 0)
            return;

        var scratch = MaglevBuildScratch.Rent(eligible);
        try
        {
            PrepareSortedBackends(backends, parameters, scratch, eligible);
            Fill(scratch, eligible, table);
        }
        finally
        {
            MaglevBuildScratch.Return(scratch);
        }
    }

    private static void PrepareSortedBackends(ReadOnlySpan<MaglevBackend> backends, MaglevParameters parameters,
        MaglevBuildScratch s, int count)
    {
        int m = parameters.TableSize;
        int k = 0;
        foreach (ref readonly MaglevBackend backend in backends)
        {
            if (backend.Weight == 0)
                continue;
            s.HashStringLengths[k] = MaglevHashString.Write(backend, s.HashStrings.AsSpan(k * MaglevHashString.MaxBytes, MaglevHashString.MaxBytes));
            s.InputIds[k] = backend.Id;
            s.InputWeights[k] = backend.Weight;
            s.SortedToInput[k] = k;
            k++;
        }

        s.SortedToInput.AsSpan(0, count).Sort(s.Order);

        for (int i = 0; i < count; i++)
        {
            int input = s.SortedToInput[i];
            var text = s.HashStrings.AsSpan(input * MaglevHashString.MaxBytes, s.HashStringLengths[input]);
            (ulong h1, ulong h2) = MurmurHash3.Hash128(text, parameters.PermutationSeed);
            s.NextSlot[i] = (int)(h1 % (ulong)m);
            s.Offset[i] = s.NextSlot[i];
            s.SkipInverse[i] = 0;
            s.Skip[i] = (int)(h2 % (ulong)(m - 1)) + 1;
            s.Ids[i] = s.InputIds[input];
            s.Weights[i] = s.InputWeights[input];
        }
    }

    private static void Fill(MaglevBuildScratch s, int count, Span<uint> table)
    {
        int m = table.Length;
        int[] nextSlot = s.NextSlot;
        int[] skip = s.Skip;
        uint[] ids = s.Ids;
        Span<ulong> occupied = s.Occupancy(m);
        var turns = new Turns(s.Weights, s.WeightCounters, count);

        // Once few slots are free, walking a permutation costs ~M/free probes per placement;
        // the tail phase instead picks the free slot that comes first in the backend's
        // permutation directly (same result, see TakeFirstFreeInPermutation).
        int tailFrom = m - TailFreeSlots(m);
        // slot < m always and the bitmap holds ⌈m/64⌉ words: the probes need no bounds checks.
        ref ulong bits = ref MemoryMarshal.GetReference(occupied);
        for (int n = 0; n < tailFrom; n++)
        {
            int i = turns.Next(n);
            // Walk this backend's permutation to its next free slot. Occupancy is probed in a
            // bitmap (M bits: 8 KiB at M = 65521, L1-resident) rather than in the table; the walk
            // positions do not depend on the loads, so the CPU runs ahead across probes.
            int slot = nextSlot[i];
            int step = skip[i];
            while ((Unsafe.Add(ref bits, slot >> 6) & (1UL << slot)) != 0)
                slot = Advance(slot, step, m);
            Unsafe.Add(ref bits, slot >> 6) |= 1UL << slot;
            table[slot] = ids[i];
            nextSlot[i] = Advance(slot, step, m);
        }

        int[] freeSlots = CollectFreeSlots(occupied, m, s, out int freeCount);
        for (int n = tailFrom; n < m; n++)
        {
            int i = turns.Next(n);
            table[TakeFirstFreeInPermutation(s, i, m, freeSlots, ref freeCount)] = ids[i];
        }
    }

    /// <summary>Whose turn slot n is: round robin, n % N — or, with weights, Cilium's scheme:
    /// skip backends whose weight has had its share of turns so far.</summary>
    private struct Turns
    {
        private readonly ushort[] _weights;
        private readonly double[] _counters;
        private readonly int _count;
        private readonly bool _weightsUsed;
        private readonly double _weightSum;
        private int _turn; // n % count, kept incrementally

        public Turns(ushort[] weights, double[] counters, int count)
        {
            _weights = weights;
            _counters = counters;
            _count = count;
            ulong weightSum = 0;
            for (int i = 0; i < count; i++)
            {
                weightSum += weights[i];
                counters[i] = (double)weights[i] / count;
            }
            _weightsUsed = weightSum / (ulong)count > 1;
            _weightSum = weightSum;
            _turn = 0;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Next(int n)
        {
            int i = _turn;
            if (++_turn == _count)
                _turn = 0;
            if (_weightsUsed)
                i = WeightedTurn(i, n);
            return i;
        }

        private readonly int WeightedTurn(int i, int n)
        {
            while ((ulong)(n + 1) * _weights[i] < (ulong)_counters[i])
            {
                if (++i == _count)
                    i = 0;
            }
            _counters[i] += _weightSum;
            return i;
        }
    }

    /// <summary>How many free slots remain when the fill switches to the tail phase: where a
    /// walk's expected M/free probes cost about as much as scanning the free list.</summary>
    private static int TailFreeSlots(int m) => (int)Math.Sqrt(m) / 2;

    private static int[] CollectFreeSlots(ReadOnlySpan<ulong> occupied, int m, MaglevBuildScratch s, out int freeCount)
    {
        int[] free = s.FreeSlotBuffer(TailFreeSlots(m) + 1);
        freeCount = 0;
        for (int slot = 0; slot < m; slot++)
        {
            if ((occupied[slot >> 6] & (1UL << slot)) == 0)
                free[freeCount++] = slot;
        }
        return free;
    }

    /// <summary>
    /// Takes, for backend <paramref name="i"/>, the free slot its permutation reaches first and
    /// removes it from the free list. The walk would stop at exactly that slot: every entry the
    /// backend has passed was occupied when passed and slots never free up, so all free slots
    /// lie ahead of it. A slot's position in the permutation offset + j·skip (mod M) is
    /// j = (slot − offset)·skip⁻¹ mod M (M prime, so skip is invertible).
    /// </summary>
    private static int TakeFirstFreeInPermutation(MaglevBuildScratch s, int i, int m, int[] freeSlots, ref int freeCount)
    {
        int inverse = s.SkipInverse[i];
        if (inverse == 0)
            s.SkipInverse[i] = inverse = ModInverse(s.Skip[i], m);
        int offset = s.Offset[i];

        int best = 0;
        ulong bestIndex = ulong.MaxValue;
        for (int k = 0; k < freeCount; k++)
        {
            int distance = freeSlots[k] - offset;
            if (distance < 0)
                distance += m;
            ulong index = (ulong)distance * (uint)inverse % (uint)m;
            if (index < bestIndex)
            {
                bestIndex = index;
                best = k;
            }
        }
        int slot = freeSlots[best];
        freeSlots[best] = freeSlots[--freeCount];
        return slot;
    }

    /// <summary>x with value·x ≡ 1 (mod prime m), by the extended Euclidean algorithm.</summary>
    private static int ModInverse(int value, int m)
    {
        long r0 = m, r1 = value, t0 = 0, t1 = 1;
        while (r1 != 0)
        {
            long q = r0 / r1;
            (r0, r1) = (r1, r0 - q * r1);
            (t0, t1) = (t1, t0 - q * t1);
        }
        return (int)(t0 < 0 ? t0 + m : t0);
    }

    /// <summary>(slot + step) mod m for slot, step &lt; m, without a branch: whether a step wraps is
    /// a coin toss (probability step/m), so a branch here mispredicted on about every other probe
    /// (it was most of the build time). Math.Min or a ternary compile to that same branch here:
    /// the JIT does not if-convert inside loops.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Advance(int slot, int step, int m)
    {
        int wrapped = slot + step - m; // no overflow: m < 2^17
        return wrapped + ((wrapped >> 31) & m);
    }

    private static void ThrowReservedId(in MaglevBackend backend) =>
        throw new ArgumentException(
            $"Maglev backend {backend.HashString()} has id 0, which is reserved for \"no backend\".", "backends");

}

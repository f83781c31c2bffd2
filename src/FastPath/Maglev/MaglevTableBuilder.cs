using System.Buffers.Binary;
using System.Runtime.CompilerServices;

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
/// next position and steps it by skip, giving the same sequence in O(N) memory, and occupancy is
/// an M-bit bitmap (8 KiB at M = 65521, L1-resident). The fill runs in three phases that each
/// give exactly the slot the walk would: up to a quarter full, the plain walk (first probes
/// nearly always free, branches predictable); then <see cref="MaglevBlockProbe"/>, which tests a
/// backend's next 8 (from three quarters full, 16) permutation positions at once with AVX2
/// gathers and takes the first free one, so a placement costs no mispredicted walk exit; and for
/// the last ~√M free slots <see cref="MaglevTailFill"/>, which computes where each free slot lies
/// in the backend's permutation (skip⁻¹ mod M, vectorised in double precision) instead of
/// walking ~M/free probes. Without AVX2 the walk runs up to the tail and the tail is scalar.
/// Equal weights skip the weighted-turn arithmetic (they never skip a turn, see
/// <see cref="WeightedTurns.TryCreate"/>). MaglevReferenceEquivalenceTests (vector and scalar
/// kernels against a naive transcription) and the Cilium-pinned tables check that none of this
/// changes the result.
/// Weight-0 backends (Cilium: maintenance, no new flows) are left out before anything else.
/// Thread-safe: each build rents its own scratch buffers; a warm rebuild allocates nothing.
/// </summary>
public static class MaglevTableBuilder
{
    /// <summary>Slot value meaning "no backend" (SPEC: zero means none); also the build's empty marker.</summary>
    public const uint NoBackend = 0;

    /// <summary>Occupied fraction up to which the plain walk places slots when the block probe is
    /// available: below it a first probe is free ≥ 3 times in 4 and the walk is the cheaper loop.</summary>
    private const double WalkToFraction = 0.25;

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
    public static void Build(ReadOnlySpan<MaglevBackend> backends, MaglevParameters parameters, Span<uint> table) =>
        Build(backends, parameters, table, MaglevKernels.Best);

    /// <summary>As the public Build, choosing the fill kernels: tests build every table both ways.</summary>
    internal static void Build(ReadOnlySpan<MaglevBackend> backends, MaglevParameters parameters, Span<uint> table,
        MaglevKernels kernels)
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
            Fill(scratch, eligible, table, kernels);
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

        SortByHashString(s, count);

        for (int i = 0; i < count; i++)
        {
            int input = s.SortedToInput[i];
            var text = s.HashStrings.AsSpan(input * MaglevHashString.MaxBytes, s.HashStringLengths[input]);
            (ulong h1, ulong h2) = MurmurHash3.Hash128(text, parameters.PermutationSeed);
            s.NextSlot[i] = (int)(h1 % (ulong)m);
            s.Offset[i] = s.NextSlot[i];
            s.Skip[i] = (int)(h2 % (ulong)(m - 1)) + 1;
            s.Ids[i] = s.InputIds[input];
            s.Weights[i] = s.InputWeights[input];
        }
    }

    /// <summary>Orders SortedToInput by hash string (then id): first by each string's first eight
    /// bytes read big-endian — a primitive-key sort, no comparer calls — then each run of equal
    /// prefixes by the full comparison.</summary>
    private static void SortByHashString(MaglevBuildScratch s, int count)
    {
        Span<ulong> prefixes = s.SortPrefixes.AsSpan(0, count);
        for (int k = 0; k < count; k++)
            prefixes[k] = BinaryPrimitives.ReadUInt64BigEndian(s.HashStrings.AsSpan(k * MaglevHashString.MaxBytes)); // strings are ≥ 8 bytes
        Span<int> order = s.SortedToInput.AsSpan(0, count);
        prefixes.Sort(order);
        for (int start = 0; start < count;)
        {
            int end = start + 1;
            while (end < count && prefixes[end] == prefixes[start])
                end++;
            if (end - start > 1)
                order[start..end].Sort(s.Order);
            start = end;
        }
    }

    private static void Fill(MaglevBuildScratch s, int count, Span<uint> table, MaglevKernels kernels)
    {
        if (WeightedTurns.TryCreate(s.Weights, s.WeightCounters, count, out var weighted))
            Fill(s, count, weighted, table, kernels);
        else
            Fill(s, count, new RoundRobinTurns(count), table, kernels);
    }

    private static void Fill<TTurns>(MaglevBuildScratch s, int count, TTurns turns, Span<uint> table, MaglevKernels kernels)
        where TTurns : struct, IMaglevTurns
    {
        int m = table.Length;
        Span<ulong> occupied = s.Occupancy(m);
        int turn = 0; // n % N, kept incrementally

        bool blocks = kernels == MaglevKernels.Best && MaglevBlockProbe.IsSupported;
        // Once few slots are free, walking a permutation costs ~M/free probes per placement;
        // the tail phase instead picks the free slot that comes first in the backend's
        // permutation directly (same result, see MaglevTailFill).
        int tailFrom = m - MaglevTailFill.FreeSlotsAtStart(m, kernels);
        // Early on nearly every first probe hits a free slot: the plain walk is short and its
        // exit predictable. From a quarter full the block probe takes over (see MaglevBlockProbe).
        int walkTo = blocks ? Math.Min((int)(m * WalkToFraction), tailFrom) : tailFrom;
        Walk(s, turns, ref turn, walkTo, occupied, table);
        if (blocks)
            MaglevBlockProbe.Fill(s, count, turns, ref turn, walkTo, tailFrom, occupied, table);

        MaglevTailFill.Fill(s, turns, turn, tailFrom, occupied, table, kernels);
    }

    /// <summary>Places slots 0 ≤ n &lt; <paramref name="to"/> by walking each backend's permutation to
    /// its next free slot. Occupancy is probed in a bitmap (M bits: 8 KiB at M = 65521, L1-resident)
    /// rather than in the table; the walk positions do not depend on the loads, so the CPU runs
    /// ahead across probes.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own frame in profiles
    private static unsafe void Walk<TTurns>(MaglevBuildScratch s, TTurns turns, ref int turn, int to, Span<ulong> occupied,
        Span<uint> table) where TTurns : struct, IMaglevTurns
    {
        int m = table.Length;
        // slot < M and i < N always: pointers, so no bounds checks in the loop.
        fixed (ulong* bits = occupied)
        fixed (int* nextSlot = s.NextSlot, skip = s.Skip)
        fixed (uint* ids = s.Ids, slots = table)
        {
            for (int n = 0; n < to; n++)
            {
                int i = turns.Next(ref turn, n);
                int slot = nextSlot[i];
                int step = skip[i];
                while ((bits[slot >> 6] & (1UL << slot)) != 0)
                    slot = Advance(slot, step, m);
                bits[slot >> 6] |= 1UL << slot;
                slots[slot] = ids[i];
                nextSlot[i] = Advance(slot, step, m);
            }
        }
    }

    /// <summary>(slot + step) mod m for slot, step &lt; m, without a branch: whether a step wraps is
    /// a coin toss (probability step/m), so a branch here mispredicted on about every other probe
    /// (it was most of the build time). Math.Min or a ternary compile to that same branch here:
    /// the JIT does not if-convert inside loops.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Advance(int slot, int step, int m)
    {
        int wrapped = slot + step - m; // no overflow: m < 2^17
        return wrapped + ((wrapped >> 31) & m);
    }

    private static void ThrowReservedId(in MaglevBackend backend) =>
        throw new ArgumentException(
            $"Maglev backend {backend.HashString()} has id 0, which is reserved for \"no backend\".", "backends");

}

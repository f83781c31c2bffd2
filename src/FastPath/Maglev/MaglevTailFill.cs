using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FastPath.Maglev;

/// <summary>
/// The last slots of the fill. With F slots free a walk costs ~M/F probes per placement; here the
/// backend instead takes the free slot that comes first in its permutation, found by computing
/// each free slot's index j = (slot − offset)·skip⁻¹ mod M (M prime, so skip is invertible) and
/// taking the least. The walk would stop at exactly that slot: every entry the backend has
/// passed was occupied when passed and slots never free up, so all free slots lie ahead of it.
///
/// The vector kernels compute j in double precision, where every intermediate is an exact
/// integer: x·skip⁻¹ + (M − offset)·skip⁻¹ &lt; 2^35, and ⌊p/M⌋ from p·(1/M) + 2^-20 (the
/// reciprocal's error is below 2^-33 while a non-multiple of M sits ≥ 1/M &gt; 2^-18 from the
/// next integer, so the nudge fixes exact multiples without overshooting). Each lane's key is
/// j·2^20 + its free-list index, so one vector minimum finds both. Free-list entries past the end
/// hold NaN, which MinPD never selects over a number.
/// </summary>
internal static class MaglevTailFill
{
    private const double IndexScale = 1 << IndexBits; // key = j·2^20 + free-list index
    private const int IndexBits = 20;
    private const double Nudge = 1.0 / (1 << 20);

    /// <summary>Free slots left when the tail phase starts: where a walk's expected cost
    /// (M/free probes) meets a scan of the free list. Measured at M = 65521: √M for the vector
    /// scan (0.5·√M and 1·√M tie, 2–4·√M are 2–8 % slower overall), √M/2 for the scalar one.</summary>
    public static int FreeSlotsAtStart(int m, MaglevKernels kernels) =>
        UsesVector(kernels) ? (int)(Math.Sqrt(m) * VectorStartPerRootM) : (int)Math.Sqrt(m) / 2;

    private const double VectorStartPerRootM = 1.0;

    private static bool UsesVector(MaglevKernels kernels) =>
        kernels == MaglevKernels.Best && (Avx512F.IsSupported || (Avx2.IsSupported && Fma.IsSupported));

    /// <summary>Places slots <paramref name="from"/> ≤ n &lt; M.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own frame in profiles
    public static void Fill<TTurns>(MaglevBuildScratch s, TTurns turns, int turn, int from, ReadOnlySpan<ulong> occupied,
        Span<uint> table, MaglevKernels kernels) where TTurns : struct, IMaglevTurns
    {
        int m = table.Length;
        double[] free = CollectFreeSlots(occupied, m, s, out int freeCount);
        InvertSkips(s, turns.Count, m);
        bool vector = UsesVector(kernels);
        for (int n = from; n < m; n++)
        {
            int i = turns.Next(ref turn, n);
            int inverse = s.SkipInverse[i];
            int offset = s.Offset[i];
            int best = !vector ? FirstInPermutationScalar(free, freeCount, offset, inverse, m)
                : Avx512F.IsSupported ? FirstInPermutation512(free, freeCount, offset, inverse, m)
                : FirstInPermutation256(free, freeCount, offset, inverse, m);
            int slot = (int)free[best];
            free[best] = free[--freeCount];
            free[freeCount] = double.NaN;
            table[slot] = s.Ids[i];
        }
    }

    private static double[] CollectFreeSlots(ReadOnlySpan<ulong> occupied, int m, MaglevBuildScratch s, out int freeCount)
    {
        freeCount = 0;
        for (int word = 0; word < occupied.Length; word++)
            freeCount += 64 - System.Numerics.BitOperations.PopCount(occupied[word]);
        freeCount -= occupied.Length * 64 - m; // bits past M are never set
        // Rounded up to whole 512-bit vectors; the padding holds NaN.
        double[] free = s.FreeSlotBuffer((freeCount + 7) & ~7);
        free.AsSpan().Fill(double.NaN);
        int k = 0;
        for (int word = 0; word < occupied.Length; word++)
        {
            ulong vacant = ~occupied[word];
            while (vacant != 0)
            {
                int slot = word * 64 + System.Numerics.BitOperations.TrailingZeroCount(vacant);
                if (slot >= m)
                    break;
                free[k++] = slot;
                vacant &= vacant - 1;
            }
        }
        return free;
    }

    private static int FirstInPermutationScalar(double[] free, int freeCount, int offset, int inverse, int m)
    {
        int best = 0;
        ulong bestIndex = ulong.MaxValue;
        for (int k = 0; k < freeCount; k++)
        {
            int distance = (int)free[k] - offset;
            if (distance < 0)
                distance += m;
            ulong index = (ulong)distance * (uint)inverse % (uint)m;
            if (index < bestIndex)
            {
                bestIndex = index;
                best = k;
            }
        }
        return best;
    }

    private static int FirstInPermutation512(double[] free, int freeCount, int offset, int inverse, int m)
    {
        var inv = Vector512.Create((double)inverse);
        var shift = Vector512.Create((double)(m - offset) * inverse);
        var reciprocal = Vector512.Create(1.0 / m);
        var nudge = Vector512.Create(Nudge);
        var minusM = Vector512.Create(-(double)m);
        var scale = Vector512.Create(IndexScale);
        var lane = Vector512.Create(0.0, 1, 2, 3, 4, 5, 6, 7);
        var eight = Vector512.Create(8.0);
        var best = Vector512.Create(double.PositiveInfinity);
        // Two independent minima so the loop is not bound by one chain of MinPD latencies.
        var best2 = best;
        var lane2 = lane + eight;
        var sixteen = eight + eight;
        ref double x = ref free[0];
        int k = 0;
        for (; k + 8 < freeCount; k += 16)
        {
            best = Avx512F.Min(Key512(Vector512.LoadUnsafe(ref x, (nuint)k), inv, shift, reciprocal, nudge, minusM, scale, lane), best);
            best2 = Avx512F.Min(Key512(Vector512.LoadUnsafe(ref x, (nuint)k + 8), inv, shift, reciprocal, nudge, minusM, scale, lane2), best2);
            lane += sixteen;
            lane2 += sixteen;
        }
        if (k < freeCount)
            best = Avx512F.Min(Key512(Vector512.LoadUnsafe(ref x, (nuint)k), inv, shift, reciprocal, nudge, minusM, scale, lane), best);
        best = Avx512F.Min(best, best2);
        var half = Avx.Min(best.GetLower(), best.GetUpper());
        var quarter = Sse2.Min(half.GetLower(), half.GetUpper());
        double key = Math.Min(quarter.ToScalar(), quarter.GetElement(1));
        return (int)((long)key & ((1 << IndexBits) - 1));
    }

    /// <summary>Per lane: the free slot's permutation index j·2^20 + its free-list index (NaN stays NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Key512(Vector512<double> x, Vector512<double> inv, Vector512<double> shift,
        Vector512<double> reciprocal, Vector512<double> nudge, Vector512<double> minusM, Vector512<double> scale,
        Vector512<double> lane)
    {
        var product = Avx512F.FusedMultiplyAdd(x, inv, shift);
        var quotient = Vector512.Floor(Avx512F.FusedMultiplyAdd(product, reciprocal, nudge));
        var index = Avx512F.FusedMultiplyAdd(quotient, minusM, product);
        return Avx512F.FusedMultiplyAdd(index, scale, lane);
    }

    private static int FirstInPermutation256(double[] free, int freeCount, int offset, int inverse, int m)
    {
        var inv = Vector256.Create((double)inverse);
        var shift = Vector256.Create((double)(m - offset) * inverse);
        var reciprocal = Vector256.Create(1.0 / m);
        var nudge = Vector256.Create(Nudge);
        var minusM = Vector256.Create(-(double)m);
        var scale = Vector256.Create(IndexScale);
        var lane = Vector256.Create(0.0, 1, 2, 3);
        var four = Vector256.Create(4.0);
        var best = Vector256.Create(double.PositiveInfinity);
        ref double x = ref free[0];
        for (int k = 0; k < freeCount; k += 4)
        {
            var product = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref x, (nuint)k), inv, shift);
            var quotient = Avx.Floor(Fma.MultiplyAdd(product, reciprocal, nudge));
            var index = Fma.MultiplyAdd(quotient, minusM, product);
            best = Avx.Min(Fma.MultiplyAdd(index, scale, lane), best); // NaN key → best
            lane += four;
        }
        var half = Sse2.Min(best.GetLower(), best.GetUpper());
        double key = Math.Min(half.ToScalar(), half.GetElement(1));
        return (int)((long)key & ((1 << IndexBits) - 1));
    }

    /// <summary>
    /// SkipInverse[i] = Skip[i]⁻¹ mod M for every backend, with one modular inversion instead of
    /// one per backend (Montgomery's batch trick: invert the product of all skips, then peel
    /// each factor off). A Euclidean inversion costs ~10 divisions; this costs three modular
    /// multiplications per backend.
    /// </summary>
    private static void InvertSkips(MaglevBuildScratch s, int count, int m)
    {
        int[] skip = s.Skip;
        int[] inverse = s.SkipInverse;
        var mod = new BarrettModulus((uint)m);
        // inverse[k] = skip[0]·…·skip[k] first (prefix products), then overwritten from the back.
        uint product = 1;
        for (int k = 0; k < count; k++)
            inverse[k] = (int)(product = mod.Multiply(product, (uint)skip[k]));
        uint rest = (uint)ModInverse((int)product, m); // (skip[0]·…·skip[k])⁻¹ at step k
        for (int k = count - 1; k > 0; k--)
        {
            inverse[k] = (int)mod.Multiply(rest, (uint)inverse[k - 1]);
            rest = mod.Multiply(rest, (uint)skip[k]);
        }
        inverse[0] = (int)rest;
    }

    /// <summary>a·b mod m for a, b &lt; m &lt; 2^17 without a division: Barrett reduction with
    /// ⌊2^64/m⌋, whose quotient estimate is at most one short.</summary>
    private readonly struct BarrettModulus(uint m)
    {
        private readonly ulong _factor = ulong.MaxValue / m;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public uint Multiply(uint a, uint b)
        {
            ulong x = (ulong)a * b;
            ulong r = x - Math.BigMul(x, _factor, out _) * m;
            return (uint)(r >= m ? r - m : r);
        }
    }

    /// <summary>x with value·x ≡ 1 (mod prime m), by the extended Euclidean algorithm.</summary>
    private static int ModInverse(int value, int m)
    {
        int r0 = m, r1 = value, t0 = 0, t1 = 1;
        while (r1 != 0)
        {
            int q = r0 / r1;
            (r0, r1) = (r1, r0 - q * r1);
            (t0, t1) = (t1, t0 - q * t1);
        }
        return t0 < 0 ? t0 + m : t0;
    }
}

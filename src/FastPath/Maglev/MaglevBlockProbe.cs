using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FastPath.Maglev;

/// <summary>
/// The middle of the fill, from a quarter full until the tail phase, where a plain walk costs a
/// mispredicted exit per placement (whether the next probe is free is a coin toss). Instead a
/// backend's next eight permutation positions slot + k·skip (mod M), k = 0..7, are probed at
/// once — eight bitmap words gathered (AVX2), each lane's bit tested — and the first free lane
/// (TrailingZeroCount) is the slot the walk would have stopped at. The one branch left, "all
/// eight occupied", is rare until the table is nearly full; from <see cref="WideFromFraction"/>
/// on, sixteen positions are probed per block (two gathers) to keep it rare.
///
/// The loop is software-pipelined two deep: the probes of placements n + 1 and n + 2
/// are issued before n stores its slot, so their gathers overlap n's work; once n has placed,
/// its slot is removed from their free lanes (the only occupancy change they missed), and a
/// probe of the backend n just moved on is redone. The result is the walk's, slot for slot.
/// </summary>
internal static class MaglevBlockProbe
{
    /// <summary>Positions probed per gather.</summary>
    public const int Width = 8;

    /// <summary>Ints per backend in the multiples buffer: k·skip mod M for k &lt; Width, then
    /// Width·skip and 2·Width·skip mod M (the strides of an 8- and a 16-wide block).</summary>
    public const int RowInts = 16;

    private const int Stride8 = Width;
    private const int Stride16 = Width + 1;

    /// <summary>Occupied fraction from which blocks are sixteen wide: beyond it eight positions
    /// are all occupied often enough (0.75^8 ≈ 10 %) that the second gather pays for itself.</summary>
    private const double WideFromFraction = 0.75;

    public static bool IsSupported => Avx2.IsSupported;

    /// <summary>Places slots <paramref name="from"/> ≤ n &lt; <paramref name="to"/>; each backend's
    /// NextSlot is where its walk would resume, and is left where it would have stopped.</summary>
    public static unsafe void Fill<TTurns>(MaglevBuildScratch s, int count, TTurns turns, ref int turn, int from, int to,
        Span<ulong> occupied, Span<uint> table) where TTurns : struct, IMaglevTurns
    {
        if (from >= to)
            return;
        int m = table.Length;
        int[] rows = s.MultiplesBuffer(count * RowInts);
        for (int i = 0; i < count; i++)
        {
            int skip = s.Skip[i];
            int multiple = 0;
            for (int k = 0; k <= Width; k++)
            {
                rows[i * RowInts + k] = multiple;
                multiple = MaglevTableBuilder.Advance(multiple, skip, m);
            }
            rows[i * RowInts + Stride16] = MaglevTableBuilder.Advance(rows[i * RowInts + Stride8], rows[i * RowInts + Stride8], m);
        }

        int wideFrom = Math.Clamp((int)(m * WideFromFraction), from, to);
        fixed (ulong* bitmap = occupied)
        fixed (int* rowBase = rows, nextSlot = s.NextSlot, skip = s.Skip)
        fixed (uint* ids = s.Ids, slots = table)
        {
            var k = new Kernel((uint*)bitmap, m);
            Pipelined<TTurns, EightWide>(k, turns, ref turn, from, wideFrom, rowBase, nextSlot, skip, ids, slots);
            Pipelined<TTurns, SixteenWide>(k, turns, ref turn, wideFrom, to, rowBase, nextSlot, skip, ids, slots);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // its own frame in profiles
    private static unsafe void Pipelined<TTurns, TWidth>(Kernel k, TTurns turns, ref int turn, int from, int to,
        int* rowBase, int* nextSlot, int* skip, uint* ids, uint* table)
        where TTurns : struct, IMaglevTurns where TWidth : struct, IBlockWidth
    {
        if (from >= to)
            return;
        // Pending probes of placements n + 1 (…1) and n + 2 (…2): backend, its row, the probed
        // positions (lanes 0–7, and 8–15 when sixteen wide) and which of them were free.
        int i1 = turns.Next(ref turn, from);
        int* row1 = rowBase + i1 * RowInts;
        uint free1 = k.Probe<TWidth>(nextSlot[i1], row1, out var low1, out var high1);
        int i2 = -1;
        int* row2 = rowBase;
        Vector256<uint> low2 = default, high2 = default;
        uint free2 = 0;
        if (from + 1 < to)
        {
            i2 = turns.Next(ref turn, from + 1);
            row2 = rowBase + i2 * RowInts;
            free2 = k.Probe<TWidth>(nextSlot[i2], row2, out low2, out high2);
        }
        for (int n = from; n < to; n++)
        {
            int i = i1;
            int* row = row1;
            uint free = free1;
            i1 = i2;
            row1 = row2;
            low1 = low2;
            high1 = high2;
            free1 = free2;
            if (n + 2 < to)
            {
                i2 = turns.Next(ref turn, n + 2);
                row2 = rowBase + i2 * RowInts;
                free2 = k.Probe<TWidth>(nextSlot[i2], row2, out low2, out high2);
            }

            int slot = nextSlot[i];
            while (free == 0)
            {
                // Every probed position occupied: the next block (rare until nearly full).
                slot = MaglevTableBuilder.Advance(slot, row[TWidth.Sixteen ? Stride16 : Stride8], k.M);
                var low = k.Positions(slot, row);
                free = k.FreeLanes<TWidth>(low, TWidth.Sixteen ? k.Wrap(low + Vector256.Create((uint)row[Stride8])) : default);
            }
            int lane = BitOperations.TrailingZeroCount(free);
            slot = MaglevTableBuilder.Advance(slot, row[lane & (Width - 1)], k.M);
            if (TWidth.Sixteen)
                slot = MaglevTableBuilder.Advance(slot, row[Stride8] & -(lane >> 3), k.M); // + 8·skip for lanes 8–15
            k.Occupy(slot);
            table[slot] = ids[i];
            nextSlot[i] = MaglevTableBuilder.Advance(slot, skip[i], k.M);

            // The pending probes missed only this placement: drop its slot from their free lanes,
            // or probe again if they are the same backend (its NextSlot just moved).
            var taken = Vector256.Create((uint)slot);
            if (i1 == i)
                free1 = k.Probe<TWidth>(nextSlot[i], row1, out low1, out high1);
            else
                free1 &= ~k.Matches<TWidth>(low1, high1, taken);
            if (i2 == i)
                free2 = k.Probe<TWidth>(nextSlot[i], row2, out low2, out high2);
            else
                free2 &= ~k.Matches<TWidth>(low2, high2, taken);
        }
    }

    /// <summary>Positions per probe, as a type so each width compiles to its own loop.</summary>
    private interface IBlockWidth
    {
        static abstract bool Sixteen { get; }
    }

    private readonly struct EightWide : IBlockWidth
    {
        public static bool Sixteen => false;
    }

    private readonly struct SixteenWide : IBlockWidth
    {
        public static bool Sixteen => true;
    }

    /// <summary>The gather-and-test on the occupancy bitmap, read as 32-bit words.</summary>
    private readonly unsafe struct Kernel(uint* words, int m)
    {
        public readonly int M = m;
        private readonly Vector256<uint> _tableSize = Vector256.Create((uint)m);

        /// <summary>slot + row[k] (mod M) for k = 0..7.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<uint> Positions(int slot, int* row) =>
            Wrap(Vector256.Create((uint)slot) + Avx.LoadVector256((uint*)row));

        /// <summary>Positions below 2M reduced mod M: the unsigned minimum of p and p − M.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<uint> Wrap(Vector256<uint> position) => Vector256.Min(position, position - _tableSize);

        /// <summary>Bit k set when position k is free.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public uint FreeLanes(Vector256<uint> position)
        {
            var word = Avx2.GatherVector256(words, Vector256.ShiftRightLogical(position, 5).AsInt32(), sizeof(uint));
            var bit = Avx2.ShiftLeftLogicalVariable(Vector256<uint>.One, position & Vector256.Create(31u));
            return Vector256.Equals(word & bit, Vector256<uint>.Zero).ExtractMostSignificantBits();
        }

        /// <summary>Free lanes of a block: 0–7 from <paramref name="low"/>, 8–15 from <paramref name="high"/> when sixteen wide.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public uint FreeLanes<TWidth>(Vector256<uint> low, Vector256<uint> high) where TWidth : struct, IBlockWidth =>
            TWidth.Sixteen ? FreeLanes(low) | FreeLanes(high) << Width : FreeLanes(low);

        /// <summary>Probes one block of a backend's permutation from <paramref name="slot"/>: the
        /// positions (lanes 0–7 in <paramref name="low"/>, 8–15 in <paramref name="high"/> when
        /// sixteen wide) and which of them are free.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public uint Probe<TWidth>(int slot, int* row, out Vector256<uint> low, out Vector256<uint> high) where TWidth : struct, IBlockWidth
        {
            low = Positions(slot, row);
            high = TWidth.Sixteen ? Wrap(low + Vector256.Create((uint)row[Stride8])) : default;
            return FreeLanes<TWidth>(low, high);
        }

        /// <summary>Lanes whose position is <paramref name="slot"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public uint Matches<TWidth>(Vector256<uint> low, Vector256<uint> high, Vector256<uint> slot) where TWidth : struct, IBlockWidth =>
            TWidth.Sixteen
                ? Vector256.Equals(low, slot).ExtractMostSignificantBits() | Vector256.Equals(high, slot).ExtractMostSignificantBits() << Width
                : Vector256.Equals(low, slot).ExtractMostSignificantBits();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Occupy(int slot) => words[slot >> 5] |= 1u << slot;
    }
}

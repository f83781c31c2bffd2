using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace FastPath.Maglev;

/// <summary>
/// MurmurHash3_x64_128 (Austin Appleby's public-domain reference, SMHasher) with a 32-bit seed.
/// Maglev uses it to turn each backend's hash string into (offset, skip), so it must match
/// Cilium's pkg/murmur3 bit for bit: blocks and tail are read little-endian (Cilium reads native
/// order on x86), and the seed initialises both lanes. Allocation-free.
/// </summary>
public static class MurmurHash3
{
    private const ulong C1 = 0x87c37b91114253d5UL;
    private const ulong C2 = 0x4cf5ad432745937fUL;
    private const int BlockBytes = 16;

    /// <summary>Returns the two 64-bit halves (h1, h2) of the 128-bit hash.</summary>
    public static (ulong H1, ulong H2) Hash128(ReadOnlySpan<byte> data, uint seed)
    {
        ulong h1 = seed;
        ulong h2 = seed;
        int blocks = data.Length / BlockBytes;

        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<byte> block = data.Slice(i * BlockBytes, BlockBytes);
            ulong k1 = BinaryPrimitives.ReadUInt64LittleEndian(block);
            ulong k2 = BinaryPrimitives.ReadUInt64LittleEndian(block.Slice(8));

            h1 ^= MixK1(k1);
            h1 = BitOperations.RotateLeft(h1, 27);
            h1 += h2;
            h1 = h1 * 5 + 0x52dce729;

            h2 ^= MixK2(k2);
            h2 = BitOperations.RotateLeft(h2, 31);
            h2 += h1;
            h2 = h2 * 5 + 0x38495ab5;
        }

        // Tail: up to 15 bytes, assembled little-endian into k1 (bytes 0..7) and k2 (8..14).
        ReadOnlySpan<byte> tail = data.Slice(blocks * BlockBytes);
        ulong t1 = 0, t2 = 0;
        for (int i = tail.Length - 1; i >= 8; i--)
            t2 = (t2 << 8) | tail[i];
        for (int i = Math.Min(tail.Length, 8) - 1; i >= 0; i--)
            t1 = (t1 << 8) | tail[i];
        if (tail.Length > 8)
            h2 ^= MixK2(t2);
        if (tail.Length > 0)
            h1 ^= MixK1(t1);

        h1 ^= (ulong)data.Length;
        h2 ^= (ulong)data.Length;
        h1 += h2;
        h2 += h1;
        h1 = FMix64(h1);
        h2 = FMix64(h2);
        h1 += h2;
        h2 += h1;
        return (h1, h2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MixK1(ulong k1) => BitOperations.RotateLeft(k1 * C1, 31) * C2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MixK2(ulong k2) => BitOperations.RotateLeft(k2 * C2, 33) * C1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong FMix64(ulong k)
    {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccdUL;
        k ^= k >> 33;
        k *= 0xc4ceb9fe1a85ec53UL;
        k ^= k >> 33;
        return k;
    }
}

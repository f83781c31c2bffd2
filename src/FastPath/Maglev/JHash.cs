using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace FastPath.Maglev;

/// <summary>
/// Bob Jenkins' lookup3 hash as the Linux kernel's include/linux/jhash.h (and Cilium's
/// bpf/lib/jhash.h) spell it. The datapath's Maglev slot hash is built from these pieces, so
/// the arithmetic must stay identical to the kernel's: all u32, wrapping, same rotations.
/// Allocation-free; the mix/final steps are public for <see cref="MaglevHash"/>'s IPv6 variant.
/// </summary>
public static class JHash
{
    /// <summary>The kernel's JHASH_INITVAL: an arbitrary start value (never change it).</summary>
    public const uint InitVal = 0xdeadbeef;

    /// <summary>jhash_3words(a, b, c, initval).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash3Words(uint a, uint b, uint c, uint initval)
    {
        // __jhash_nwords with initval + JHASH_INITVAL + (3 words << 2).
        uint start = initval + InitVal + (3u << 2);
        a += start;
        b += start;
        c += start;
        Final(ref a, ref b, ref c);
        return c;
    }

    /// <summary>jhash2(k, length-in-words, initval): the u32-array variant.</summary>
    public static uint Hash2(ReadOnlySpan<uint> words, uint initval)
    {
        uint a, b, c;
        a = b = c = InitVal + ((uint)words.Length << 2) + initval;
        while (words.Length > 3)
        {
            a += words[0];
            b += words[1];
            c += words[2];
            Mix(ref a, ref b, ref c);
            words = words.Slice(3);
        }
        switch (words.Length)
        {
            case 3:
                c += words[2];
                goto case 2;
            case 2:
                b += words[1];
                goto case 1;
            case 1:
                a += words[0];
                Final(ref a, ref b, ref c);
                break;
        }
        return c;
    }

    /// <summary>jhash(key, length-in-bytes, initval): the byte variant (lookup3 hashlittle on
    /// little-endian machines). Used here to check the implementation against lookup3's
    /// published vectors.</summary>
    public static uint Hash(ReadOnlySpan<byte> key, uint initval)
    {
        uint a, b, c;
        a = b = c = InitVal + (uint)key.Length + initval;
        while (key.Length > 12)
        {
            a += BinaryPrimitives.ReadUInt32LittleEndian(key);
            b += BinaryPrimitives.ReadUInt32LittleEndian(key.Slice(4));
            c += BinaryPrimitives.ReadUInt32LittleEndian(key.Slice(8));
            Mix(ref a, ref b, ref c);
            key = key.Slice(12);
        }
        if (key.Length == 0)
            return c;
        // Last 1..12 bytes, little-endian, zero-padded: bytes 0..3 → a, 4..7 → b, 8..11 → c.
        Span<byte> last = stackalloc byte[12];
        last.Clear();
        key.CopyTo(last);
        a += BinaryPrimitives.ReadUInt32LittleEndian(last);
        b += BinaryPrimitives.ReadUInt32LittleEndian(last.Slice(4));
        c += BinaryPrimitives.ReadUInt32LittleEndian(last.Slice(8));
        Final(ref a, ref b, ref c);
        return c;
    }

    /// <summary>__jhash_mix: reversibly mixes three words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Mix(ref uint a, ref uint b, ref uint c)
    {
        a -= c; a ^= BitOperations.RotateLeft(c, 4); c += b;
        b -= a; b ^= BitOperations.RotateLeft(a, 6); a += c;
        c -= b; c ^= BitOperations.RotateLeft(b, 8); b += a;
        a -= c; a ^= BitOperations.RotateLeft(c, 16); c += b;
        b -= a; b ^= BitOperations.RotateLeft(a, 19); a += c;
        c -= b; c ^= BitOperations.RotateLeft(b, 4); b += a;
    }

    /// <summary>__jhash_final: final mixing of three words into c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Final(ref uint a, ref uint b, ref uint c)
    {
        c ^= b; c -= BitOperations.RotateLeft(b, 14);
        a ^= c; a -= BitOperations.RotateLeft(c, 11);
        b ^= a; b -= BitOperations.RotateLeft(a, 25);
        c ^= b; c -= BitOperations.RotateLeft(b, 16);
        a ^= c; a -= BitOperations.RotateLeft(c, 4);
        b ^= a; b -= BitOperations.RotateLeft(a, 14);
        c ^= b; c -= BitOperations.RotateLeft(b, 24);
    }
}

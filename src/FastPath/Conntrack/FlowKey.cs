using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FastPath.Addressing;

namespace FastPath.Conntrack;

/// <summary>
/// A flow's 5-tuple exactly as seen on the wire (ports raw = network order in memory).
/// Laid out like <c>struct fp_flow_key</c> (40 bytes, padding always zero) so equality and
/// hashing can work on five 64-bit words and a reply key converts to the BPF key for free.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 40)]
public readonly struct FlowKey : IEquatable<FlowKey>
{
    public readonly NetAddress Source;
    public readonly NetAddress Destination;
    public readonly ushort SourcePortRaw;
    public readonly ushort DestinationPortRaw;
    public readonly byte Protocol;
    private readonly byte _pad0;
    private readonly byte _pad1;
    private readonly byte _pad2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FlowKey(in NetAddress source, in NetAddress destination, ushort sourcePortRaw, ushort destinationPortRaw, byte protocol)
    {
        Source = source;
        Destination = destination;
        SourcePortRaw = sourcePortRaw;
        DestinationPortRaw = destinationPortRaw;
        Protocol = protocol;
        _pad0 = _pad1 = _pad2 = 0;
    }

    /// <summary>
    /// The same key as the constructor, written in place with three stores (two 16-byte, one
    /// 8-byte). Through the constructor the JIT built the addresses in a temporary and copied it
    /// with one 32-byte load of two 16-byte stores, which cannot be store-forwarded: a stall
    /// right before the key is hashed (about a tenth of ProcessNewFlow's samples).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Build(out FlowKey key, in NetAddress source, in NetAddress destination, ushort sourcePortRaw,
        ushort destinationPortRaw, byte protocol)
    {
        Unsafe.SkipInit(out key);
        ref byte k = ref Unsafe.As<FlowKey, byte>(ref key);
        Vector128.LoadUnsafe(ref Unsafe.As<NetAddress, byte>(ref Unsafe.AsRef(in source))).StoreUnsafe(ref k);
        Vector128.LoadUnsafe(ref Unsafe.As<NetAddress, byte>(ref Unsafe.AsRef(in destination))).StoreUnsafe(ref Unsafe.Add(ref k, 16));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref k, 32), sourcePortRaw | (ulong)destinationPortRaw << 16 | (ulong)protocol << 32);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(FlowKey other)
    {
        ref ulong a = ref Unsafe.As<FlowKey, ulong>(ref Unsafe.AsRef(in this));
        ref ulong b = ref Unsafe.As<FlowKey, ulong>(ref other);
        return ((a ^ b) | (Unsafe.Add(ref a, 1) ^ Unsafe.Add(ref b, 1)) | (Unsafe.Add(ref a, 2) ^ Unsafe.Add(ref b, 2))
              | (Unsafe.Add(ref a, 3) ^ Unsafe.Add(ref b, 3)) | (Unsafe.Add(ref a, 4) ^ Unsafe.Add(ref b, 4))) == 0;
    }

    /// <summary>Seeded 64-bit hash; the table keeps its seed secret so clients cannot aim
    /// their source ports at one bucket pair. The five words are multiplied in independent
    /// lanes (the CPU runs the multiplies in parallel instead of a chain of five), rotated
    /// apart, combined, then finished with murmur3's fmix64 so every input bit reaches every
    /// output bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Hash64(ulong seed)
    {
        ref ulong w = ref Unsafe.As<FlowKey, ulong>(ref Unsafe.AsRef(in this));
        ulong a = (w ^ seed) * 0x9E3779B97F4A7C15UL;
        ulong b = (Unsafe.Add(ref w, 1) ^ BitOperations.RotateLeft(seed, 13)) * 0xC2B2AE3D27D4EB4FUL;
        ulong c = (Unsafe.Add(ref w, 2) ^ BitOperations.RotateLeft(seed, 29)) * 0x165667B19E3779F9UL;
        ulong d = (Unsafe.Add(ref w, 3) ^ BitOperations.RotateLeft(seed, 43)) * 0xFF51AFD7ED558CCDUL;
        ulong e = (Unsafe.Add(ref w, 4) ^ BitOperations.RotateLeft(seed, 53)) * 0xC4CEB9FE1A85EC53UL;
        ulong h = BitOperations.RotateLeft(a, 17) ^ BitOperations.RotateLeft(b, 31) ^ BitOperations.RotateLeft(c, 47)
                ^ BitOperations.RotateLeft(d, 7) ^ e;
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53UL;
        return h ^ (h >> 33);
    }

    public override bool Equals(object? obj) => obj is FlowKey other && Equals(other);
    public override int GetHashCode() => (int)Hash64(0);
    public static bool operator ==(FlowKey a, FlowKey b) => a.Equals(b);
    public static bool operator !=(FlowKey a, FlowKey b) => !a.Equals(b);

    public override string ToString() =>
        $"{Source}:{System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(SourcePortRaw)} -> " +
        $"{Destination}:{System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(DestinationPortRaw)} proto {Protocol}";
}

/// <summary>
/// The key of the BPF <c>fp_flows</c> map: the tuple a translated flow's replies arrive with
/// (backend → client). Exactly <c>struct fp_flow_key</c> in native/include/fp_structs.h:
/// saddr[16], daddr[16], sport, dport (network order), proto, 3 bytes padding = 40 bytes.
/// Never reorder: the kernel reads these bytes as the map key.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 40)]
public readonly struct FlowReplyKey : IEquatable<FlowReplyKey>
{
    public readonly NetAddress Source;
    public readonly NetAddress Destination;
    public readonly ushort SourcePortRaw;
    public readonly ushort DestinationPortRaw;
    public readonly byte Protocol;
    private readonly byte _pad0;
    private readonly byte _pad1;
    private readonly byte _pad2;

    /// <summary>Same bytes as the conntrack key of the flow's reply entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FlowReplyKey From(in FlowKey replyKey) => Unsafe.BitCast<FlowKey, FlowReplyKey>(replyKey);

    public FlowKey ToFlowKey() => Unsafe.BitCast<FlowReplyKey, FlowKey>(this);

    /// <summary>A key from host-order ports (tests and tools that write fp_flows directly).</summary>
    public static FlowReplyKey FromHostOrder(NetAddress source, ushort sourcePort, NetAddress destination, ushort destinationPort,
        Addressing.L4Protocol protocol) =>
        From(new FlowKey(in source, in destination, System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(sourcePort),
            System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(destinationPort), (byte)protocol));

    public bool Equals(FlowReplyKey other) => ToFlowKey().Equals(other.ToFlowKey());
    public override bool Equals(object? obj) => obj is FlowReplyKey other && Equals(other);
    public override int GetHashCode() => ToFlowKey().GetHashCode();
    public override string ToString() => ToFlowKey().ToString();
}

using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastPath.Addressing;

/// <summary>
/// An IPv4 or IPv6 address in 16 bytes, network order, IPv4 stored as ::ffff:a.b.c.d —
/// the same shape as <c>struct fp_addr</c> in native/include/fp_structs.h, so it can be
/// copied into BPF map keys as is. A value type: the fast path compares and hashes it
/// without allocating.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public readonly struct NetAddress : IEquatable<NetAddress>
{
    // Two 64-bit halves holding the 16 bytes exactly as they appear on the wire.
    private readonly ulong _high;
    private readonly ulong _low;

    private const ulong V4MappedHigh = 0;
    // Bytes 8..11 of an IPv4-mapped address: 00 00 ff ff, little-endian view of the low half.
    private const ulong V4MappedLowMask = 0x0000_0000_FFFF_FFFFUL;
    private const ulong V4MappedLowTag = 0x0000_0000_FFFF_0000UL;

    private NetAddress(ulong high, ulong low)
    {
        _high = high;
        _low = low;
    }

    public static NetAddress None => default;

    public bool IsNone => _high == 0 && _low == 0;

    public bool IsV4 => _high == V4MappedHigh && (_low & V4MappedLowMask) == V4MappedLowTag;

    /// <summary>Builds an address from the 4 bytes of an IPv4 header field.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NetAddress FromV4(ReadOnlySpan<byte> fourBytes)
    {
        uint raw = MemoryMarshal.Read<uint>(fourBytes);
        return FromV4Raw(raw);
    }

    /// <summary>From the IPv4 address as a uint read straight from the wire (network order in memory).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NetAddress FromV4Raw(uint networkOrderRaw) =>
        new(V4MappedHigh, V4MappedLowTag | ((ulong)networkOrderRaw << 32));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NetAddress FromV6(ReadOnlySpan<byte> sixteenBytes) =>
        new(MemoryMarshal.Read<ulong>(sixteenBytes), MemoryMarshal.Read<ulong>(sixteenBytes.Slice(8)));

    /// <summary>The IPv4 address as the uint that sits in the wire's 4 bytes (only when <see cref="IsV4"/>).</summary>
    public uint V4Raw
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (uint)(_low >> 32);
    }

    /// <summary>Writes the 4 wire bytes of an IPv4 address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteV4(Span<byte> destination) => MemoryMarshal.Write(destination, V4Raw);

    /// <summary>Writes all 16 bytes (IPv6, or the mapped form of IPv4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteBytes(Span<byte> destination)
    {
        MemoryMarshal.Write(destination, _high);
        MemoryMarshal.Write(destination.Slice(8), _low);
    }

    public static NetAddress Parse(string text)
    {
        if (!TryParse(text, out var address))
            throw new FormatException($"'{text}' is not an IPv4 or IPv6 address");
        return address;
    }

    public static bool TryParse(string? text, out NetAddress address)
    {
        address = default;
        if (string.IsNullOrWhiteSpace(text) || !IPAddress.TryParse(text.Trim(), out var ip))
            return false;
        address = FromIPAddress(ip);
        return true;
    }

    public static NetAddress FromIPAddress(IPAddress ip)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (ip.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> four = stackalloc byte[4];
            ip.TryWriteBytes(four, out _);
            return FromV4(four);
        }
        ip.TryWriteBytes(bytes, out _);
        return FromV6(bytes);
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        WriteBytes(bytes);
        return IsV4 ? new IPAddress(bytes.Slice(12, 4)) : new IPAddress(bytes);
    }

    /// <summary>
    /// A well-mixed hash for open-addressing tables (not seeded; not for Maglev): MurmurHash3's
    /// 64-bit finaliser over both halves, so every input bit reaches every output bit. A single
    /// multiply is not enough here: an IPv4 address sits in the top bytes of the low half, and
    /// its last byte (what varies between pods of one subnet) only reached bits 0–2 of the
    /// result — 100 backends of one /24 fell into 8 buckets of the next-hop table.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Hash32()
    {
        ulong h = (_high * 0x9E3779B97F4A7C15UL) ^ _low;
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53UL;
        h ^= h >> 33;
        return (uint)h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(NetAddress other) => _high == other._high && _low == other._low;
    public override bool Equals(object? obj) => obj is NetAddress other && Equals(other);
    public override int GetHashCode() => (int)Hash32();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool operator ==(NetAddress a, NetAddress b) => a.Equals(b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool operator !=(NetAddress a, NetAddress b) => !a.Equals(b);

    public override string ToString() => IsNone ? "none" : ToIPAddress().ToString();

    /// <summary>IPv4 in host order, for arithmetic in tests and tools.</summary>
    public uint V4HostOrder => BinaryPrimitives.ReverseEndianness(V4Raw);
}

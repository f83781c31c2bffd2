using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastPath.Addressing;

namespace FastPath.Packets;

/// <summary>
/// Internet checksum arithmetic. The fast path only ever updates checksums incrementally
/// (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')), so its cost does not depend on payload size.
///
/// All 16-bit words here are "raw": read from the frame as little-endian ushorts without
/// swapping. One's-complement addition commutes with byte swapping, so a checksum computed
/// and updated entirely in swapped form is the swapped correct checksum — and is written
/// back the same way. That saves a byte swap per field.
///
/// A "delta" is the one's-complement sum of ~old words + new words for every field that
/// changed; one delta can be applied to several checksums (IP header and L4 pseudo-header).
/// </summary>
public static class Checksum
{
    /// <summary>Delta for replacing one 16-bit field.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Delta16(ushort oldRaw, ushort newRaw) => (uint)(ushort)~oldRaw + newRaw;

    /// <summary>Delta for replacing a 32-bit field (an IPv4 address).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Delta32(uint oldRaw, uint newRaw) => SumWords32(~oldRaw) + SumWords32(newRaw);

    /// <summary>Delta for replacing a 128-bit field (an IPv6 address).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Delta128(in NetAddress oldAddress, in NetAddress newAddress)
    {
        ref ulong oldWords = ref Unsafe.As<NetAddress, ulong>(ref Unsafe.AsRef(in oldAddress));
        ref ulong newWords = ref Unsafe.As<NetAddress, ulong>(ref Unsafe.AsRef(in newAddress));
        return SumWords64(~oldWords) + SumWords64(~Unsafe.Add(ref oldWords, 1))
             + SumWords64(newWords) + SumWords64(Unsafe.Add(ref newWords, 1));
    }

    /// <summary>Applies a delta to a checksum field value (RFC 1624 eqn. 3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Apply(ushort checksumRaw, uint delta) => (ushort)~Fold((uint)(ushort)~checksumRaw + delta);

    /// <summary>
    /// Applies a delta to a UDP checksum. A computed UDP checksum of 0 is sent as 0xFFFF,
    /// because 0 on the wire means "no checksum" (RFC 768; mandatory for IPv6, RFC 8200).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ApplyUdp(ushort checksumRaw, uint delta)
    {
        ushort updated = Apply(checksumRaw, delta);
        return updated == 0 ? (ushort)0xFFFF : updated;
    }

    /// <summary>Folds carries back into 16 bits (end-around carry). Never turns a non-zero sum into 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Fold(uint sum)
    {
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint SumWords32(uint value) => (value & 0xFFFF) + (value >> 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint SumWords64(ulong value) =>
        (uint)(value & 0xFFFF) + (uint)((value >> 16) & 0xFFFF) + (uint)((value >> 32) & 0xFFFF) + (uint)(value >> 48);

    // ---- Full computation: used by tests and packet fixtures, never by the fast path. ----

    /// <summary>One's-complement sum of a byte range as big-endian words (odd tail padded with 0).</summary>
    public static uint SumBigEndian(ReadOnlySpan<byte> data, uint sum = 0)
    {
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data.Slice(i));
        if (i < data.Length)
            sum += (uint)data[i] << 8;
        // Fold periodically is unnecessary for test-sized inputs (< 2^16 words).
        return sum;
    }

    /// <summary>Computes the IPv4 header checksum (host order) over the header at <paramref name="l3"/>.</summary>
    public static ushort ComputeIPv4Header(ReadOnlySpan<byte> frame, int l3)
    {
        int headerBytes = (frame[l3] & 0x0F) * 4;
        uint sum = SumBigEndian(frame.Slice(l3, headerBytes));
        sum -= BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(l3 + WireConstants.IPv4ChecksumOffset));
        return (ushort)~Fold(sum);
    }

    /// <summary>
    /// Computes the TCP/UDP checksum (host order) of a parsed packet from scratch, pseudo-header
    /// included, ignoring the current checksum field. UDP results of 0 are returned as 0xFFFF.
    /// </summary>
    public static ushort ComputeL4(ReadOnlySpan<byte> frame, in ParsedPacket packet)
    {
        int l4Length = packet.IpEnd - packet.L4Offset;
        if (packet.Protocol == WireConstants.ProtoUdp)
            l4Length = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(packet.L4Offset + WireConstants.UdpLengthOffset));
        Span<byte> addresses = stackalloc byte[32];
        uint sum;
        if (packet.IsV6)
        {
            packet.Source.WriteBytes(addresses);
            packet.Destination.WriteBytes(addresses.Slice(16));
            sum = SumBigEndian(addresses);
        }
        else
        {
            packet.Source.WriteV4(addresses);
            packet.Destination.WriteV4(addresses.Slice(4));
            sum = SumBigEndian(addresses.Slice(0, 8));
        }
        sum += packet.Protocol;
        sum += (uint)l4Length;
        sum += SumBigEndian(frame.Slice(packet.L4Offset, l4Length));
        sum -= BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(packet.L4ChecksumOffset));
        ushort result = (ushort)~Fold(Fold(sum));
        return packet.Protocol == WireConstants.ProtoUdp && result == 0 ? (ushort)0xFFFF : result;
    }
}

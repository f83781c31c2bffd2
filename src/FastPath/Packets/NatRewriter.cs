using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastPath.Addressing;
using FastPath.NextHop;
using static FastPath.Packets.WireConstants;

namespace FastPath.Packets;

/// <summary>
/// In-place header rewrites for load balancing: DNAT (client → VIP becomes client → backend),
/// reverse NAT (backend → client becomes VIP → client) and the Ethernet addresses. Checksums
/// are updated incrementally: the IPv4 header checksum covers the addresses; the TCP/UDP
/// checksum covers addresses (pseudo-header) and ports. The caller must have parsed the frame
/// with <see cref="PacketParser"/> successfully and must not change the address family.
/// </summary>
public static class NatRewriter
{
    /// <summary>DNAT: replaces destination address and port (raw = network order in memory).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RewriteDestination(Span<byte> frame, ref ParsedPacket packet, in NetAddress address, ushort portRaw)
    {
        if (packet.IsV6)
            RewriteV6(frame, in packet, in packet.Destination, in address, IPv6DestinationOffset, DestinationPortOffset,
                packet.DestinationPortRaw, portRaw);
        else
            RewriteV4(frame, in packet, packet.Destination.V4Raw, address.V4Raw, IPv4DestinationOffset, DestinationPortOffset,
                packet.DestinationPortRaw, portRaw);
        packet.Destination = address;
        packet.DestinationPortRaw = portRaw;
    }

    /// <summary>Reverse NAT: replaces source address and port.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RewriteSource(Span<byte> frame, ref ParsedPacket packet, in NetAddress address, ushort portRaw)
    {
        if (packet.IsV6)
            RewriteV6(frame, in packet, in packet.Source, in address, IPv6SourceOffset, SourcePortOffset, packet.SourcePortRaw, portRaw);
        else
            RewriteV4(frame, in packet, packet.Source.V4Raw, address.V4Raw, IPv4SourceOffset, SourcePortOffset, packet.SourcePortRaw, portRaw);
        packet.Source = address;
        packet.SourcePortRaw = portRaw;
    }

    /// <summary>Writes the Ethernet destination and source addresses (no checksum covers them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RewriteMacs(Span<byte> frame, in MacAddress source, in MacAddress destination)
    {
        if (frame.Length < EthernetHeaderBytes)
            ThrowShortFrame();
        ref byte f = ref MemoryMarshal.GetReference(frame);
        ulong dst = Unsafe.BitCast<MacAddress, ulong>(destination);
        ulong src = Unsafe.BitCast<MacAddress, ulong>(source);
        // Bytes 0–11 as one 8-byte and one 4-byte store: dst[0..6] src[0..6].
        Unsafe.WriteUnaligned(ref f, (dst & 0xFFFF_FFFF_FFFFUL) | (src << 48));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref f, 8), (uint)(src >> 16));
    }

    /// <remarks>IPv4, the common case, inlined into the forwarding paths; IPv6 out of line, so its
    /// offsets and 16-byte delta do not take registers from the IPv4 path around it.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RewriteV4(Span<byte> frame, in ParsedPacket packet, uint oldAddressRaw, uint newAddressRaw,
        int addressOffset, int portOffset, ushort oldPortRaw, ushort newPortRaw)
    {
        CheckWritesFit(frame.Length, in packet, addressOffset + 4, portOffset);
        ref byte f = ref MemoryMarshal.GetReference(frame);
        int l3 = packet.L3Offset;
        uint addressDelta = Checksum.Delta32(oldAddressRaw, newAddressRaw);
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref f, l3 + addressOffset), newAddressRaw);
        ref byte ipChecksum = ref Unsafe.Add(ref f, l3 + IPv4ChecksumOffset);
        Unsafe.WriteUnaligned(ref ipChecksum, Checksum.Apply(Unsafe.ReadUnaligned<ushort>(ref ipChecksum), addressDelta));
        RewritePort(ref f, in packet, portOffset, oldPortRaw, newPortRaw, addressDelta);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RewriteV6(Span<byte> frame, in ParsedPacket packet, in NetAddress oldAddress, in NetAddress newAddress,
        int addressOffset, int portOffset, ushort oldPortRaw, ushort newPortRaw)
    {
        CheckWritesFit(frame.Length, in packet, addressOffset + 16, portOffset);
        ref byte f = ref MemoryMarshal.GetReference(frame);
        // IPv6 has no header checksum: only the pseudo-header's share of the L4 checksum moves.
        uint addressDelta = Checksum.Delta128(in oldAddress, in newAddress);
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref f, packet.L3Offset + addressOffset), newAddress);
        RewritePort(ref f, in packet, portOffset, oldPortRaw, newPortRaw, addressDelta);
    }

    /// <remarks>Offsets come from a successful <see cref="PacketParser.Parse"/> of this frame, which
    /// checked that the IP header and the whole TCP/UDP header lie inside it; checking the furthest
    /// byte of each field written keeps a caller that broke that contract from writing past the
    /// frame, instead of a bounds check per access.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CheckWritesFit(int frameLength, in ParsedPacket packet, int addressEnd, int portOffset)
    {
        if ((uint)(packet.L4ChecksumOffset + 2) > (uint)frameLength || (uint)(packet.L3Offset + addressEnd) > (uint)frameLength
            || (uint)(packet.L4Offset + portOffset + 2) > (uint)frameLength)
            ThrowShortFrame();
    }

    /// <summary>Writes the new port and moves the TCP/UDP checksum by the address's and the port's change.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RewritePort(ref byte f, in ParsedPacket packet, int portOffset, ushort oldPortRaw, ushort newPortRaw,
        uint addressDelta)
    {
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref f, packet.L4Offset + portOffset), newPortRaw);
        ref byte l4Checksum = ref Unsafe.Add(ref f, packet.L4ChecksumOffset);
        uint delta = addressDelta + Checksum.Delta16(oldPortRaw, newPortRaw);
        ushort current = Unsafe.ReadUnaligned<ushort>(ref l4Checksum);
        if (packet.Protocol == ProtoTcp)
            Unsafe.WriteUnaligned(ref l4Checksum, Checksum.Apply(current, delta));
        else if (!packet.UdpChecksumAbsent)
            Unsafe.WriteUnaligned(ref l4Checksum, Checksum.ApplyUdp(current, delta));
        // IPv4 UDP without checksum (0): stays 0 — a receiver then skips verification.
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowShortFrame() =>
        throw new ArgumentException("frame is shorter than the headers the parser reported", "frame");
}

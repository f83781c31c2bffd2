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
        Rewrite(frame, in packet, in packet.Destination, in address,
            packet.IsV6 ? IPv6DestinationOffset : IPv4DestinationOffset,
            DestinationPortOffset, packet.DestinationPortRaw, portRaw);
        packet.Destination = address;
        packet.DestinationPortRaw = portRaw;
    }

    /// <summary>Reverse NAT: replaces source address and port.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RewriteSource(Span<byte> frame, ref ParsedPacket packet, in NetAddress address, ushort portRaw)
    {
        Rewrite(frame, in packet, in packet.Source, in address,
            packet.IsV6 ? IPv6SourceOffset : IPv4SourceOffset,
            SourcePortOffset, packet.SourcePortRaw, portRaw);
        packet.Source = address;
        packet.SourcePortRaw = portRaw;
    }

    /// <summary>Writes the Ethernet destination and source addresses (no checksum covers them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RewriteMacs(Span<byte> frame, in MacAddress source, in MacAddress destination)
    {
        destination.CopyTo(frame);
        source.CopyTo(frame.Slice(6));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rewrite(Span<byte> frame, in ParsedPacket packet, in NetAddress oldAddress, in NetAddress newAddress,
        int addressOffset, int portOffset, ushort oldPortRaw, ushort newPortRaw)
    {
        int l3 = packet.L3Offset;
        int l4 = packet.L4Offset;
        uint addressDelta;
        if (packet.IsV6)
        {
            addressDelta = Checksum.Delta128(in oldAddress, in newAddress);
            newAddress.WriteBytes(frame.Slice(l3 + addressOffset, 16));
        }
        else
        {
            addressDelta = Checksum.Delta32(oldAddress.V4Raw, newAddress.V4Raw);
            newAddress.WriteV4(frame.Slice(l3 + addressOffset, 4));
            Span<byte> ipChecksum = frame.Slice(l3 + IPv4ChecksumOffset, 2);
            MemoryMarshal.Write(ipChecksum, Checksum.Apply(MemoryMarshal.Read<ushort>(ipChecksum), addressDelta));
        }
        MemoryMarshal.Write(frame.Slice(l4 + portOffset, 2), newPortRaw);

        uint l4Delta = addressDelta + Checksum.Delta16(oldPortRaw, newPortRaw);
        Span<byte> l4Checksum = frame.Slice(packet.L4ChecksumOffset, 2);
        ushort current = MemoryMarshal.Read<ushort>(l4Checksum);
        if (packet.Protocol == ProtoTcp)
            MemoryMarshal.Write(l4Checksum, Checksum.Apply(current, l4Delta));
        else if (!packet.UdpChecksumAbsent)
            MemoryMarshal.Write(l4Checksum, Checksum.ApplyUdp(current, l4Delta));
        // IPv4 UDP without checksum (0): stays 0 — a receiver then skips verification.
    }
}

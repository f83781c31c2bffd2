using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastPath.Addressing;
using FastPath.Pipeline;
using static FastPath.Packets.WireConstants;

namespace FastPath.Packets;

/// <summary>
/// Parses Ethernet [+ one VLAN tag] + IPv4/IPv6 + TCP/UDP out of a frame without allocating
/// or throwing. Every length field is checked against the bytes actually present, so a
/// malformed frame yields a drop reason instead of an out-of-range read.
///
/// Decisions (each counted by the caller under the returned reason):
/// - More than one VLAN tag, non-IP ethertypes, non-TCP/UDP payloads: <see cref="DropReason.UnsupportedProtocol"/>.
/// - IPv4 with MF set or a non-zero fragment offset, IPv6 with a Fragment header:
///   <see cref="DropReason.Fragment"/> (non-first fragments carry no ports, so they cannot be
///   mapped to a flow; reassembly is the kernel's job, not the fast path's).
/// - IPv6 hop-by-hop and destination-options headers are walked (at most
///   <see cref="IPv6MaxExtensionHeaders"/>). A Routing header is rejected as unsupported:
///   with one, the L4 pseudo-header uses the final destination from the routing header, so
///   rewriting the fixed header's destination would not be a correct DNAT.
/// - UDP over IPv6 with checksum 0 is malformed (RFC 8200 §8.1); over IPv4 it means "none".
/// - The IPv4 header checksum is not verified (the NIC/kernel already does so on receive and
///   the incremental update keeps a wrong checksum wrong rather than hiding it).
/// </summary>
public static class PacketParser
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static DropReason Parse(ReadOnlySpan<byte> frame, out ParsedPacket packet)
    {
        if (TryParseIPv4Plain(frame, out packet))
            return DropReason.None;
        return ParseAny(frame, out packet);
    }

    /// <summary>
    /// The common case — untagged IPv4 without options or fragmentation, carrying a well-formed
    /// TCP or UDP header — decided after one length check, with reads that need no further
    /// bounds checks, and the result written field by field instead of zeroed first. Accepts
    /// exactly the frames <see cref="ParseAny"/> parses with this shape, with the same result
    /// (PacketParserTests compares the two); anything else, valid or not, is left to it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryParseIPv4Plain(ReadOnlySpan<byte> frame, out ParsedPacket packet)
    {
        const int L3 = EthernetHeaderBytes;
        const int L4 = L3 + IPv4MinHeaderBytes;
        Unsafe.SkipInit(out packet);
        if (frame.Length < L4 + UdpHeaderBytes)
            return false;
        ref byte f = ref MemoryMarshal.GetReference(frame);
        // Ethertype, version/IHL and the fragment word compared raw (network order in memory).
        bool plain = Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref f, EtherTypeOffset)) == EtherTypeIPv4Raw
                     & Unsafe.Add(ref f, L3) == IPv4VersionIhlNoOptions
                     & (Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref f, L3 + IPv4FragmentOffset)) & IPv4FragmentBitsRaw) == 0;
        if (!plain)
            return false;
        int totalLength = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref f, L3 + IPv4TotalLengthOffset)));
        if (totalLength > frame.Length - L3)
            return false;
        int available = totalLength - IPv4MinHeaderBytes; // may be negative: fails both checks below
        byte protocol = Unsafe.Add(ref f, L3 + IPv4ProtocolOffset);
        byte tcpFlags = 0;
        bool udpChecksumAbsent = false;
        if (protocol == ProtoTcp)
        {
            if (available < TcpMinHeaderBytes) // then the frame holds the 20-byte TCP header too
                return false;
            int dataOffset = (Unsafe.Add(ref f, L4 + TcpDataOffsetByte) >> 4) * 4;
            if (dataOffset < TcpMinHeaderBytes || dataOffset > available)
                return false;
            tcpFlags = Unsafe.Add(ref f, L4 + TcpFlagsOffset);
        }
        else if (protocol == ProtoUdp)
        {
            if (available < UdpHeaderBytes)
                return false;
            int udpLength = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref f, L4 + UdpLengthOffset)));
            if (udpLength < UdpHeaderBytes || udpLength > available)
                return false;
            udpChecksumAbsent = Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref f, L4 + UdpChecksumOffset)) == 0;
        }
        else
        {
            return false;
        }

        packet.Source = NetAddress.FromV4Raw(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref f, L3 + IPv4SourceOffset)));
        packet.Destination = NetAddress.FromV4Raw(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref f, L3 + IPv4DestinationOffset)));
        // Source and destination port are the L4 header's first four bytes, in the key's order.
        packet.PortsAndProtocol = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref f, L4 + SourcePortOffset)) | (ulong)protocol << 32;
        packet.L3Offset = L3;
        packet.L4Offset = L4;
        packet.IpEnd = L3 + totalLength;
        packet.IsV6 = false;
        packet.TcpFlags = tcpFlags;
        packet.UdpChecksumAbsent = udpChecksumAbsent;
        return true;
    }

    /// <summary>Every frame shape (VLAN tag, IPv4 options, IPv6 and its extension headers) and
    /// every drop reason. Internal so tests can compare it with the fast path.</summary>
    internal static DropReason ParseAny(ReadOnlySpan<byte> frame, out ParsedPacket packet)
    {
        packet = default;
        if (frame.Length < EthernetHeaderBytes)
            return DropReason.Malformed;

        int l3 = EthernetHeaderBytes;
        ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(EtherTypeOffset));
        if (etherType == EtherTypeVlan || etherType == EtherTypeQinQ)
        {
            if (frame.Length < EthernetHeaderBytes + VlanTagBytes)
                return DropReason.Malformed;
            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(EtherTypeOffset + VlanTagBytes));
            l3 += VlanTagBytes;
        }
        packet.L3Offset = l3;

        DropReason reason;
        if (etherType == EtherTypeIPv4)
            reason = ParseIPv4(frame, ref packet);
        else if (etherType == EtherTypeIPv6)
            reason = ParseIPv6(frame, ref packet);
        else
            return DropReason.UnsupportedProtocol;
        if (reason != DropReason.None)
            return reason;
        return ParseL4(frame, ref packet);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DropReason ParseIPv4(ReadOnlySpan<byte> frame, ref ParsedPacket packet)
    {
        int l3 = packet.L3Offset;
        if (frame.Length < l3 + IPv4MinHeaderBytes)
            return DropReason.Malformed;
        byte versionIhl = frame[l3];
        int headerBytes = (versionIhl & 0x0F) * 4;
        if ((versionIhl >> 4) != 4 || headerBytes < IPv4MinHeaderBytes)
            return DropReason.Malformed;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(l3 + IPv4TotalLengthOffset));
        if (totalLength < headerBytes || l3 + totalLength > frame.Length)
            return DropReason.Malformed;
        ushort fragment = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(l3 + IPv4FragmentOffset));
        if ((fragment & (IPv4MoreFragments | IPv4FragmentOffsetMask)) != 0)
            return DropReason.Fragment;

        packet.Protocol = frame[l3 + IPv4ProtocolOffset];
        packet.Source = NetAddress.FromV4Raw(MemoryMarshal.Read<uint>(frame.Slice(l3 + IPv4SourceOffset)));
        packet.Destination = NetAddress.FromV4Raw(MemoryMarshal.Read<uint>(frame.Slice(l3 + IPv4DestinationOffset)));
        packet.L4Offset = l3 + headerBytes;
        packet.IpEnd = l3 + totalLength;
        return DropReason.None;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DropReason ParseIPv6(ReadOnlySpan<byte> frame, ref ParsedPacket packet)
    {
        int l3 = packet.L3Offset;
        if (frame.Length < l3 + IPv6HeaderBytes)
            return DropReason.Malformed;
        if ((frame[l3] >> 4) != 6)
            return DropReason.Malformed;
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(l3 + IPv6PayloadLengthOffset));
        int ipEnd = l3 + IPv6HeaderBytes + payloadLength;
        if (ipEnd > frame.Length)
            return DropReason.Malformed;

        byte next = frame[l3 + IPv6NextHeaderOffset];
        int offset = l3 + IPv6HeaderBytes;
        if (next != ProtoTcp && next != ProtoUdp)
        {
            DropReason reason = WalkIPv6Extensions(frame, ipEnd, ref next, ref offset);
            if (reason != DropReason.None)
                return reason;
        }

        packet.IsV6 = true;
        packet.Protocol = next;
        packet.Source = NetAddress.FromV6(frame.Slice(l3 + IPv6SourceOffset, 16));
        packet.Destination = NetAddress.FromV6(frame.Slice(l3 + IPv6DestinationOffset, 16));
        packet.L4Offset = offset;
        packet.IpEnd = ipEnd;
        return DropReason.None;
    }

    /// <summary>Rare path: skips hop-by-hop/destination-options headers up to TCP/UDP.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DropReason WalkIPv6Extensions(ReadOnlySpan<byte> frame, int ipEnd, ref byte next, ref int offset)
    {
        for (int i = 0; i < IPv6MaxExtensionHeaders; i++)
        {
            switch (next)
            {
                case ProtoTcp:
                case ProtoUdp:
                    return DropReason.None;
                case ProtoFragment:
                    return DropReason.Fragment;
                case ProtoHopByHop:
                case ProtoDestinationOptions:
                    if (offset + IPv6ExtensionUnitBytes > ipEnd)
                        return DropReason.Malformed;
                    next = frame[offset];
                    offset += (frame[offset + 1] + 1) * IPv6ExtensionUnitBytes;
                    if (offset > ipEnd)
                        return DropReason.Malformed;
                    break;
                default:
                    // Routing (see class comment), ESP/AH, ICMPv6, no-next-header, ...
                    return DropReason.UnsupportedProtocol;
            }
        }
        return next == ProtoTcp || next == ProtoUdp ? DropReason.None : DropReason.UnsupportedProtocol;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DropReason ParseL4(ReadOnlySpan<byte> frame, ref ParsedPacket packet)
    {
        int l4 = packet.L4Offset;
        int available = packet.IpEnd - l4;
        if (packet.Protocol == ProtoTcp)
        {
            if (available < TcpMinHeaderBytes)
                return DropReason.Malformed;
            int dataOffset = (frame[l4 + TcpDataOffsetByte] >> 4) * 4;
            if (dataOffset < TcpMinHeaderBytes || dataOffset > available)
                return DropReason.Malformed;
            packet.TcpFlags = frame[l4 + TcpFlagsOffset];
        }
        else if (packet.Protocol == ProtoUdp)
        {
            if (available < UdpHeaderBytes)
                return DropReason.Malformed;
            int udpLength = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(l4 + UdpLengthOffset));
            if (udpLength < UdpHeaderBytes || udpLength > available)
                return DropReason.Malformed;
            bool zeroChecksum = MemoryMarshal.Read<ushort>(frame.Slice(l4 + UdpChecksumOffset)) == 0;
            // IPv6 has no "no checksum" UDP (RFC 8200 §8.1): receivers discard such packets.
            if (zeroChecksum && packet.IsV6)
                return DropReason.Malformed;
            packet.UdpChecksumAbsent = zeroChecksum;
        }
        else
        {
            return DropReason.UnsupportedProtocol;
        }
        packet.SourcePortRaw = MemoryMarshal.Read<ushort>(frame.Slice(l4 + SourcePortOffset));
        packet.DestinationPortRaw = MemoryMarshal.Read<ushort>(frame.Slice(l4 + DestinationPortOffset));
        return DropReason.None;
    }
}

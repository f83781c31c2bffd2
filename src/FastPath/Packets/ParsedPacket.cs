using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastPath.Addressing;
using FastPath.Conntrack;

namespace FastPath.Packets;

/// <summary>
/// What <see cref="PacketParser"/> learned about one frame: header offsets and the flow's
/// fields. A plain struct filled in place, so parsing never allocates.
/// Ports are "raw": the two wire bytes read as a little-endian ushort, i.e. still network
/// order in memory — the form BPF map keys and the Maglev lookup hash use.
///
/// Bytes 0–39 are laid out exactly as <see cref="FlowKey"/> (addresses, ports, protocol, three
/// zero bytes), so <see cref="Key"/> is the packet's ct key in place. Building a separate key
/// copied the two addresses through a temporary the JIT then re-read as one 32-byte load: a
/// store-forwarding stall on every packet.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
public struct ParsedPacket
{
    [FieldOffset(0)] public NetAddress Source;
    [FieldOffset(16)] public NetAddress Destination;
    [FieldOffset(32)] public ushort SourcePortRaw;
    [FieldOffset(34)] public ushort DestinationPortRaw;
    /// <summary>L4 protocol number (6 TCP, 17 UDP).</summary>
    [FieldOffset(36)] public byte Protocol;
    // Bytes 37–39: FlowKey's padding, always zero.
    /// <summary>Bytes 32–39 as one word — both ports, the protocol and the padding — which the
    /// parser's fast path writes with one store: the flow hash reads them as one 8-byte word right
    /// after parsing, and a load spanning several smaller pending stores cannot be forwarded from
    /// them (it waits until they reach the cache).</summary>
    [FieldOffset(32)] internal ulong PortsAndProtocol;

    /// <summary>Start of the IP header (14, or 18 behind one VLAN tag).</summary>
    [FieldOffset(40)] public int L3Offset;
    /// <summary>Start of the TCP/UDP header (after IPv4 options or IPv6 extension headers).</summary>
    [FieldOffset(44)] public int L4Offset;
    /// <summary>End of the IP packet; the frame may carry Ethernet padding beyond it.</summary>
    [FieldOffset(48)] public int IpEnd;
    [FieldOffset(52)] public bool IsV6;
    /// <summary>TCP flag byte (0 for UDP).</summary>
    [FieldOffset(53)] public byte TcpFlags;
    /// <summary>UDP only: the checksum field was 0 (IPv4 "no checksum"); NAT must leave it 0.</summary>
    [FieldOffset(54)] public bool UdpChecksumAbsent;

    /// <summary>The flow key of the packet as received (source → destination). Aliases this
    /// packet's fields: read it before a rewrite changes them.</summary>
    [UnscopedRef]
    public readonly ref readonly FlowKey Key
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Unsafe.As<ParsedPacket, FlowKey>(ref Unsafe.AsRef(in this));
    }

    /// <summary>Offset of the L4 checksum field.</summary>
    public readonly int L4ChecksumOffset
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => L4Offset + (Protocol == WireConstants.ProtoTcp ? WireConstants.TcpChecksumOffset : WireConstants.UdpChecksumOffset);
    }
}

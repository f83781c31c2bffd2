using System.Runtime.CompilerServices;
using FastPath.Addressing;

namespace FastPath.Packets;

/// <summary>
/// What <see cref="PacketParser"/> learned about one frame: header offsets and the flow's
/// fields. A plain struct filled in place, so parsing never allocates.
/// Ports are "raw": the two wire bytes read as a little-endian ushort, i.e. still network
/// order in memory — the form BPF map keys and the Maglev lookup hash use.
/// </summary>
public struct ParsedPacket
{
    /// <summary>Start of the IP header (14, or 18 behind one VLAN tag).</summary>
    public int L3Offset;
    /// <summary>Start of the TCP/UDP header (after IPv4 options or IPv6 extension headers).</summary>
    public int L4Offset;
    /// <summary>End of the IP packet; the frame may carry Ethernet padding beyond it.</summary>
    public int IpEnd;
    public bool IsV6;
    /// <summary>L4 protocol number (6 TCP, 17 UDP).</summary>
    public byte Protocol;
    /// <summary>TCP flag byte (0 for UDP).</summary>
    public byte TcpFlags;
    /// <summary>UDP only: the checksum field was 0 (IPv4 "no checksum"); NAT must leave it 0.</summary>
    public bool UdpChecksumAbsent;
    public NetAddress Source;
    public NetAddress Destination;
    public ushort SourcePortRaw;
    public ushort DestinationPortRaw;

    /// <summary>Offset of the L4 checksum field.</summary>
    public readonly int L4ChecksumOffset
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => L4Offset + (Protocol == WireConstants.ProtoTcp ? WireConstants.TcpChecksumOffset : WireConstants.UdpChecksumOffset);
    }
}

namespace FastPath.Packets;

/// <summary>
/// Header sizes, offsets and type numbers of the protocols the fast path parses. Offsets are
/// relative to the start of their own header; sizes are in bytes.
/// </summary>
internal static class WireConstants
{
    public const int EthernetHeaderBytes = 14;
    public const int VlanTagBytes = 4;
    public const int EtherTypeOffset = 12;

    public const ushort EtherTypeIPv4 = 0x0800;
    public const ushort EtherTypeIPv6 = 0x86DD;
    /// <summary>IEEE 802.1Q customer tag.</summary>
    public const ushort EtherTypeVlan = 0x8100;
    /// <summary>IEEE 802.1ad service tag (outer tag of QinQ).</summary>
    public const ushort EtherTypeQinQ = 0x88A8;
    /// <summary>IPv4's ethertype as its two wire bytes read little-endian (08 00).</summary>
    public const ushort EtherTypeIPv4Raw = 0x0008;

    public const int IPv4MinHeaderBytes = 20;
    public const int IPv4TotalLengthOffset = 2;
    public const int IPv4FragmentOffset = 6;
    public const int IPv4ProtocolOffset = 9;
    public const int IPv4ChecksumOffset = 10;
    public const int IPv4SourceOffset = 12;
    public const int IPv4DestinationOffset = 16;
    /// <summary>More-fragments flag in the flags/fragment-offset word (host order).</summary>
    public const ushort IPv4MoreFragments = 0x2000;
    /// <summary>Fragment offset bits (units of 8 bytes) in the same word.</summary>
    public const ushort IPv4FragmentOffsetMask = 0x1FFF;
    /// <summary>More-fragments and fragment-offset bits of the same word read raw (little-endian).</summary>
    public const ushort IPv4FragmentBitsRaw = 0xFF3F;
    /// <summary>Version 4, header length 5 words: an IPv4 header without options.</summary>
    public const byte IPv4VersionIhlNoOptions = 0x45;

    public const int IPv6HeaderBytes = 40;
    public const int IPv6PayloadLengthOffset = 4;
    public const int IPv6NextHeaderOffset = 6;
    public const int IPv6SourceOffset = 8;
    public const int IPv6DestinationOffset = 24;
    /// <summary>Extension headers measure their length in 8-byte units, not counting the first 8.</summary>
    public const int IPv6ExtensionUnitBytes = 8;
    /// <summary>How many hop-by-hop/destination-options headers we walk before giving up;
    /// real traffic carries at most one or two, a long chain is an attack on the parser.</summary>
    public const int IPv6MaxExtensionHeaders = 4;

    public const byte ProtoHopByHop = 0;
    public const byte ProtoTcp = 6;
    public const byte ProtoUdp = 17;
    public const byte ProtoRouting = 43;
    public const byte ProtoFragment = 44;
    public const byte ProtoDestinationOptions = 60;

    public const int TcpMinHeaderBytes = 20;
    public const int TcpDataOffsetByte = 12;
    public const int TcpFlagsOffset = 13;
    public const int TcpChecksumOffset = 16;
    public const int UdpHeaderBytes = 8;
    public const int UdpLengthOffset = 4;
    public const int UdpChecksumOffset = 6;
    public const int SourcePortOffset = 0;
    public const int DestinationPortOffset = 2;
}

/// <summary>TCP header flag bits (byte 13 of the TCP header).</summary>
public static class TcpFlags
{
    public const byte Fin = 0x01;
    public const byte Syn = 0x02;
    public const byte Rst = 0x04;
    public const byte Psh = 0x08;
    public const byte Ack = 0x10;
}

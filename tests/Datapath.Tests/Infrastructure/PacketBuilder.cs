using System.Buffers.Binary;
using System.Net;

namespace Datapath.Tests.Infrastructure;

/// <summary>Builds Ethernet/IPv4/UDP frames for tests (IPv4 header checksum filled, UDP checksum 0 = none).</summary>
public static class PacketBuilder
{
    public const int EthernetBytes = 14;
    public const int Ipv4Bytes = 20;
    public const int UdpBytes = 8;
    public const int UdpV4PayloadOffset = EthernetBytes + Ipv4Bytes + UdpBytes;

    public static byte[] UdpV4(string sourceMac, string destinationMac, IPAddress source, IPAddress destination,
        ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[UdpV4PayloadOffset + payload.Length];
        var span = frame.AsSpan();
        ParseMac(destinationMac).CopyTo(span);
        ParseMac(sourceMac).CopyTo(span[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(span[12..], 0x0800);
        var ip = span.Slice(EthernetBytes, Ipv4Bytes);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(Ipv4Bytes + UdpBytes + payload.Length));
        ip[8] = 64;   // TTL
        ip[9] = 17;   // UDP
        source.TryWriteBytes(ip[12..], out _);
        destination.TryWriteBytes(ip[16..], out _);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Ipv4Checksum(ip));
        var udp = span.Slice(EthernetBytes + Ipv4Bytes, UdpBytes);
        BinaryPrimitives.WriteUInt16BigEndian(udp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(UdpBytes + payload.Length));
        payload.CopyTo(span[UdpV4PayloadOffset..]);
        return frame;
    }

    public static byte[] ParseMac(string mac) =>
        mac.Split(':').Select(part => Convert.ToByte(part, 16)).ToArray();

    /// <summary>The IPv4 header checksum of <paramref name="header"/> (its checksum field zeroed or not yet written).</summary>
    public static ushort Ipv4Checksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (int i = 0; i < header.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }
}

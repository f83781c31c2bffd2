using System.Buffers.Binary;
using FastPath.Addressing;
using FastPath.NextHop;

namespace FastPath.Tests.Fixtures;

/// <summary>
/// Describes one test frame — Ethernet, optional VLAN tag, IPv4 (with options, fragment bits)
/// or IPv6 (with hop-by-hop or fragment header), TCP or UDP — and builds it with correct
/// lengths and checksums. Shared by unit tests and benchmarks; adjust with <c>with { }</c>.
/// Payloads describe themselves: byte i of the payload is (PayloadSeed + i) mod 256.
/// </summary>
public sealed record FrameSpec
{
    public const byte Tcp = 6;
    public const byte Udp = 17;

    public string Source { get; init; } = "10.0.0.1";
    public string Destination { get; init; } = "10.96.0.10";
    public ushort SourcePort { get; init; } = 40000;
    public ushort DestinationPort { get; init; } = 80;
    public byte Protocol { get; init; } = Tcp;
    public byte TcpFlags { get; init; } = FastPath.Packets.TcpFlags.Syn;
    public int PayloadLength { get; init; }
    public byte PayloadSeed { get; init; }
    public MacAddress SourceMac { get; init; } = MacAddress.Parse("02:00:00:00:00:01");
    public MacAddress DestinationMac { get; init; } = MacAddress.Parse("02:00:00:00:00:fe");
    /// <summary>VLAN id; tagged with <see cref="VlanTpid"/> when set.</summary>
    public ushort? VlanId { get; init; }
    public ushort VlanTpid { get; init; } = 0x8100;
    /// <summary>IPv4 options (padded to a multiple of 4 with end-of-list zeros).</summary>
    public byte[] IPv4Options { get; init; } = [];
    /// <summary>The IPv4 flags/fragment-offset word (host order), e.g. 0x2000 = more fragments.</summary>
    public ushort IPv4FragmentWord { get; init; } = 0x4000; // don't fragment
    /// <summary>Insert an 8-byte IPv6 hop-by-hop header (PadN) before the L4 header.</summary>
    public bool IPv6HopByHop { get; init; }
    /// <summary>Insert an IPv6 fragment header with this offset/flags word (host order).</summary>
    public ushort? IPv6FragmentWord { get; init; }
    /// <summary>IPv4 UDP: send checksum 0 ("none").</summary>
    public bool UdpNoChecksum { get; init; }
    /// <summary>Extra 32-bit words of TCP options (NOPs).</summary>
    public int TcpOptionWords { get; init; }
    /// <summary>Pad the frame with zeros after the IP packet up to this length (Ethernet minimum is 60).</summary>
    public int PadFrameTo { get; init; }

    public bool IsV6 => NetAddress.Parse(Source).IsV4 == false;

    public byte[] Build()
    {
        var src = NetAddress.Parse(Source);
        var dst = NetAddress.Parse(Destination);
        if (src.IsV4 != dst.IsV4)
            throw new ArgumentException($"frame {Source} -> {Destination}: mixed address families");
        bool v6 = !src.IsV4;

        byte[] l4 = BuildL4();
        var frame = new List<byte>();
        frame.AddRange(Bytes(DestinationMac));
        frame.AddRange(Bytes(SourceMac));
        if (VlanId is ushort vlan)
        {
            frame.AddRange(BigEndian(VlanTpid));
            frame.AddRange(BigEndian(vlan));
        }
        frame.AddRange(BigEndian(v6 ? (ushort)0x86DD : (ushort)0x0800));

        byte[] srcBytes = AddressBytes(src);
        byte[] dstBytes = AddressBytes(dst);
        ushort l4Checksum = ComputeL4Checksum(srcBytes, dstBytes, l4);
        int checksumOffset = Protocol == Tcp ? 16 : 6;
        if (!(Protocol == Udp && UdpNoChecksum && !v6))
            BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(checksumOffset), l4Checksum);

        if (v6)
            frame.AddRange(BuildIPv6(srcBytes, dstBytes, l4));
        else
            frame.AddRange(BuildIPv4(srcBytes, dstBytes, l4));
        while (frame.Count < PadFrameTo)
            frame.Add(0);
        return frame.ToArray();
    }

    private byte[] BuildL4()
    {
        byte[] payload = new byte[PayloadLength];
        for (int i = 0; i < payload.Length; i++)
            payload[i] = (byte)(PayloadSeed + i);
        if (Protocol == Tcp)
        {
            int headerBytes = 20 + TcpOptionWords * 4;
            byte[] tcp = new byte[headerBytes + payload.Length];
            BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(0), SourcePort);
            BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(2), DestinationPort);
            BinaryPrimitives.WriteUInt32BigEndian(tcp.AsSpan(4), 0x01020304); // seq
            BinaryPrimitives.WriteUInt32BigEndian(tcp.AsSpan(8), 0x0A0B0C0D); // ack
            tcp[12] = (byte)((headerBytes / 4) << 4);
            tcp[13] = TcpFlags;
            BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(14), 64240); // window
            for (int i = 20; i < headerBytes; i++)
                tcp[i] = 1; // NOP
            payload.CopyTo(tcp, headerBytes);
            return tcp;
        }
        if (Protocol == Udp)
        {
            byte[] udp = new byte[8 + payload.Length];
            BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(0), SourcePort);
            BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), DestinationPort);
            BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)udp.Length);
            payload.CopyTo(udp, 8);
            return udp;
        }
        // Any other protocol: an opaque 8-byte payload (for "unsupported protocol" cases).
        return payload.Length > 0 ? payload : new byte[8];
    }

    private ushort ComputeL4Checksum(byte[] src, byte[] dst, byte[] l4)
    {
        if (Protocol != Tcp && Protocol != Udp)
            return 0;
        return ReferenceChecksum.L4(src, dst, Protocol, l4);
    }

    private byte[] BuildIPv4(byte[] src, byte[] dst, byte[] l4)
    {
        int optionBytes = (IPv4Options.Length + 3) / 4 * 4;
        int ihl = 20 + optionBytes;
        byte[] ip = new byte[ihl + l4.Length];
        ip[0] = (byte)(0x40 | (ihl / 4));
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(2), (ushort)ip.Length);
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(4), 0x1234);
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(6), IPv4FragmentWord);
        ip[8] = 64;
        ip[9] = Protocol;
        src.CopyTo(ip, 12);
        dst.CopyTo(ip, 16);
        IPv4Options.CopyTo(ip, 20);
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(10), ReferenceChecksum.Compute(ip.AsSpan(0, ihl)));
        l4.CopyTo(ip, ihl);
        return ip;
    }

    private byte[] BuildIPv6(byte[] src, byte[] dst, byte[] l4)
    {
        var extensions = new List<byte>();
        byte first = Protocol;
        if (IPv6FragmentWord is ushort fragment)
        {
            extensions.AddRange(new byte[] { Protocol, 0 });
            extensions.AddRange(BigEndian(fragment));
            extensions.AddRange(new byte[] { 0, 0, 0x12, 0x34 });
            first = 44;
        }
        if (IPv6HopByHop)
        {
            // next header, length 0 (= 8 bytes), PadN option filling 6 bytes
            extensions.InsertRange(0, new byte[] { first, 0, 1, 4, 0, 0, 0, 0 });
            first = 0;
        }
        byte[] ip = new byte[40 + extensions.Count + l4.Length];
        ip[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(4), (ushort)(extensions.Count + l4.Length));
        ip[6] = first;
        ip[7] = 64;
        src.CopyTo(ip, 8);
        dst.CopyTo(ip, 24);
        extensions.CopyTo(ip, 40);
        l4.CopyTo(ip, 40 + extensions.Count);
        return ip;
    }

    public static byte[] AddressBytes(NetAddress address)
    {
        byte[] bytes = new byte[16];
        address.WriteBytes(bytes);
        return address.IsV4 ? bytes[12..] : bytes;
    }

    private static byte[] Bytes(MacAddress mac)
    {
        byte[] b = new byte[6];
        mac.CopyTo(b);
        return b;
    }

    private static byte[] BigEndian(ushort value) => [(byte)(value >> 8), (byte)value];
}

using System.Buffers.Binary;
using FastPath.Addressing;
using FastPath.Packets;
using FastPath.Pipeline;
using FastPath.Tests.Fixtures;

namespace FastPath.Tests;

/// <summary>
/// Katran-style table: {description, frame built in code, expected drop reason}. None means
/// the frame parses (the pipeline may then forward it). Malformed input must never throw.
/// </summary>
public class PacketParserTests
{
    private static readonly FrameSpec V4Tcp = new() { PayloadLength = 16 };
    private static readonly FrameSpec V4Udp = new() { Protocol = FrameSpec.Udp, DestinationPort = 53, PayloadLength = 16 };
    private static readonly FrameSpec V6Tcp = new() { Source = "fd00::1", Destination = "fd00:96::10", PayloadLength = 16 };
    private static readonly FrameSpec V6Udp = V6Tcp with { Protocol = FrameSpec.Udp };

    private const int L3 = 14;

    private static byte[] Truncate(FrameSpec spec, int length) => spec.Build()[..length];

    private static byte[] Mutate(FrameSpec spec, Action<byte[]> change)
    {
        byte[] frame = spec.Build();
        change(frame);
        return frame;
    }

    private static void SetU16(byte[] frame, int offset, int value) => BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(offset), (ushort)value);

    public static TheoryData<string, byte[], DropReason> Cases => new()
    {
        // Truncation at every header boundary.
        { "empty frame", [], DropReason.Malformed },
        { "truncated inside the Ethernet header", Truncate(V4Tcp, 13), DropReason.Malformed },
        { "Ethernet header only", Truncate(V4Tcp, 14), DropReason.Malformed },
        { "truncated inside the VLAN tag", Truncate(V4Tcp with { VlanId = 7 }, 16), DropReason.Malformed },
        { "VLAN tag, then nothing", Truncate(V4Tcp with { VlanId = 7 }, 18), DropReason.Malformed },
        { "truncated inside the IPv4 header", Truncate(V4Tcp, L3 + 19), DropReason.Malformed },
        { "IPv4 header only (TCP missing)", Truncate(V4Tcp, L3 + 20), DropReason.Malformed },
        { "truncated inside the IPv6 header", Truncate(V6Tcp, L3 + 39), DropReason.Malformed },
        { "IPv6 header only (TCP missing)", Truncate(V6Tcp, L3 + 40), DropReason.Malformed },
        { "IPv4 total length ends inside the TCP header", Mutate(V4Tcp, f => SetU16(f, L3 + 2, 20 + 19)), DropReason.Malformed },
        { "IPv4 total length ends inside the UDP header", Mutate(V4Udp, f => SetU16(f, L3 + 2, 20 + 7)), DropReason.Malformed },
        { "IPv6 payload length ends inside the TCP header", Mutate(V6Tcp, f => SetU16(f, L3 + 4, 19)), DropReason.Malformed },
        { "IPv6 payload length ends inside the UDP header", Mutate(V6Udp, f => SetU16(f, L3 + 4, 7)), DropReason.Malformed },
        { "IPv6 hop-by-hop header cut short", Mutate(V6Tcp with { IPv6HopByHop = true }, f => SetU16(f, L3 + 4, 4)), DropReason.Malformed },

        // IPv4 header sanity.
        { "IPv4 IHL 4 (< 5 words)", Mutate(V4Tcp, f => f[L3] = 0x44), DropReason.Malformed },
        { "IPv4 IHL 15 beyond the total length", Mutate(V4Tcp, f => f[L3] = 0x4F), DropReason.Malformed },
        { "IPv4 ethertype carrying version 6", Mutate(V4Tcp, f => f[L3] = 0x65), DropReason.Malformed },
        { "IPv4 total length beyond the frame", Mutate(V4Tcp, f => SetU16(f, L3 + 2, f.Length - L3 + 1)), DropReason.Malformed },
        { "IPv4 total length shorter than the header", Mutate(V4Tcp, f => SetU16(f, L3 + 2, 19)), DropReason.Malformed },
        { "IPv6 payload length beyond the frame", Mutate(V6Tcp, f => SetU16(f, L3 + 4, f.Length - L3 - 40 + 1)), DropReason.Malformed },
        { "IPv6 ethertype carrying version 4", Mutate(V6Tcp, f => f[L3] = 0x45), DropReason.Malformed },

        // Fragments.
        { "IPv4 first fragment (MF, offset 0)", (V4Tcp with { IPv4FragmentWord = 0x2000 }).Build(), DropReason.Fragment },
        { "IPv4 middle fragment (MF, offset 185)", (V4Tcp with { IPv4FragmentWord = 0x2000 | 185 }).Build(), DropReason.Fragment },
        { "IPv4 last fragment (offset 185)", (V4Tcp with { IPv4FragmentWord = 185 }).Build(), DropReason.Fragment },
        { "IPv6 fragment header", (V6Tcp with { IPv6FragmentWord = 0x0001 }).Build(), DropReason.Fragment },
        { "IPv6 fragment header behind hop-by-hop", (V6Tcp with { IPv6FragmentWord = 0x0001, IPv6HopByHop = true }).Build(), DropReason.Fragment },

        // L4 header sanity.
        { "TCP data offset 4 (< 5 words)", Mutate(V4Tcp, f => f[L3 + 20 + 12] = 0x40), DropReason.Malformed },
        { "TCP data offset 15 beyond the segment", Mutate(V4Tcp with { PayloadLength = 0 }, f => f[L3 + 20 + 12] = 0xF0), DropReason.Malformed },
        { "UDP length 7 (< header)", Mutate(V4Udp, f => SetU16(f, L3 + 20 + 4, 7)), DropReason.Malformed },
        { "UDP length beyond the IP payload", Mutate(V4Udp, f => SetU16(f, L3 + 20 + 4, 8 + 16 + 1)), DropReason.Malformed },
        { "IPv6 UDP with checksum 0", Mutate(V6Udp, f => SetU16(f, L3 + 40 + 6, 0)), DropReason.Malformed },

        // Unsupported but well-formed.
        { "ARP ethertype", Mutate(V4Tcp, f => SetU16(f, 12, 0x0806)), DropReason.UnsupportedProtocol },
        { "two VLAN tags (QinQ)", Mutate(V4Tcp with { VlanId = 7, VlanTpid = 0x88A8 }, f => SetU16(f, 16, 0x8100)), DropReason.UnsupportedProtocol },
        { "IPv4 ICMP", (V4Tcp with { Protocol = 1 }).Build(), DropReason.UnsupportedProtocol },
        { "IPv6 ICMPv6", (V6Tcp with { Protocol = 58 }).Build(), DropReason.UnsupportedProtocol },
        { "IPv6 routing header", Mutate(V6Tcp with { IPv6HopByHop = true }, f => f[L3 + 6] = 43), DropReason.UnsupportedProtocol },

        // Accepted.
        { "IPv4 TCP", V4Tcp.Build(), DropReason.None },
        { "IPv4 UDP", V4Udp.Build(), DropReason.None },
        { "IPv4 UDP without checksum", (V4Udp with { UdpNoChecksum = true }).Build(), DropReason.None },
        { "IPv6 TCP", V6Tcp.Build(), DropReason.None },
        { "IPv6 UDP", V6Udp.Build(), DropReason.None },
        { "IPv4 with 8 bytes of options", (V4Tcp with { IPv4Options = [1, 1, 1, 1, 1, 1, 1, 0] }).Build(), DropReason.None },
        { "IPv4 with 40 bytes of options (IHL 15)", (V4Tcp with { IPv4Options = new byte[40] }).Build(), DropReason.None },
        { "IPv6 hop-by-hop header", (V6Tcp with { IPv6HopByHop = true }).Build(), DropReason.None },
        { "802.1Q VLAN tag", (V4Tcp with { VlanId = 100 }).Build(), DropReason.None },
        { "802.1ad VLAN tag", (V6Tcp with { VlanId = 100, VlanTpid = 0x88A8 }).Build(), DropReason.None },
        { "TCP with options", (V4Tcp with { TcpOptionWords = 3 }).Build(), DropReason.None },
        { "Ethernet padding after a short IPv4 packet", (V4Udp with { PayloadLength = 0, PadFrameTo = 60 }).Build(), DropReason.None },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Parser_returns_the_expected_reason_for_each_frame(string description, byte[] frame, DropReason expected)
    {
        DropReason actual = PacketParser.Parse(frame, out _);
        Assert.True(actual == expected, $"{description}: expected {expected.ToName()}, got {actual.ToName()}");
    }

    [Fact]
    public void Every_prefix_of_valid_frames_parses_or_fails_without_throwing()
    {
        FrameSpec[] specs =
        [
            V4Tcp with { IPv4Options = [1, 1, 1, 0], TcpOptionWords = 2, VlanId = 3 },
            V6Udp with { IPv6HopByHop = true },
            V6Tcp, V4Udp,
        ];
        foreach (FrameSpec spec in specs)
        {
            byte[] full = spec.Build();
            for (int length = 0; length < full.Length; length++)
                Assert.NotEqual(DropReason.None, PacketParser.Parse(full.AsSpan(0, length), out _));
            Assert.Equal(DropReason.None, PacketParser.Parse(full, out _));
        }
    }

    [Fact]
    public void The_IPv4_fast_path_gives_the_general_parser_s_result_for_every_frame()
    {
        var random = new Random(20261122);
        FrameSpec[] shapes =
        [
            V4Tcp, V4Udp, V4Tcp with { TcpOptionWords = 3 }, V4Udp with { PayloadLength = 0 },
            V4Tcp with { IPv4Options = [1, 1, 1, 0] }, V4Tcp with { VlanId = 5 }, V6Tcp, V6Udp,
        ];
        int fastPathFrames = 0;
        foreach (var (_, frame, _) in Cases.Select(c => ((string)c[0], (byte[])c[1], (DropReason)c[2])))
            AssertSameParse(frame, ref fastPathFrames);
        for (int i = 0; i < 20_000; i++)
        {
            byte[] frame = shapes[random.Next(shapes.Length)].Build();
            // Corrupt one to three bytes of the headers (ethertype .. TCP flags), sometimes truncate.
            for (int k = random.Next(4); k > 0; k--)
                frame[random.Next(12, Math.Min(frame.Length, 60))] = (byte)random.Next(256);
            if (random.Next(4) == 0)
                frame = frame[..random.Next(frame.Length + 1)];
            AssertSameParse(frame, ref fastPathFrames);
        }
        Assert.True(fastPathFrames > 5_000, $"only {fastPathFrames} frames took the fast path");
    }

    private static void AssertSameParse(byte[] frame, ref int fastPathFrames)
    {
        DropReason general = PacketParser.ParseAny(frame, out ParsedPacket expected);
        DropReason actual = PacketParser.Parse(frame, out ParsedPacket packet);
        Assert.Equal(general, actual);
        if (general != DropReason.None)
            return;
        string frameHex = Convert.ToHexString(frame);
        Assert.True(expected.Key.Equals(packet.Key), $"key differs for {frameHex}");
        Assert.True((expected.L3Offset, expected.L4Offset, expected.IpEnd, expected.IsV6, expected.TcpFlags, expected.UdpChecksumAbsent)
            == (packet.L3Offset, packet.L4Offset, packet.IpEnd, packet.IsV6, packet.TcpFlags, packet.UdpChecksumAbsent),
            $"fields differ for {frameHex}");
        if (!packet.IsV6 && packet.L3Offset == 14 && packet.L4Offset == 34)
            fastPathFrames++;
    }

    [Theory]
    [InlineData(false, FrameSpec.Tcp)]
    [InlineData(false, FrameSpec.Udp)]
    [InlineData(true, FrameSpec.Tcp)]
    [InlineData(true, FrameSpec.Udp)]
    public void The_parsed_packet_is_its_own_flow_key_with_zero_padding(bool v6, byte protocol)
    {
        FrameSpec spec = (v6 ? V6Tcp : V4Tcp) with { Protocol = protocol, SourcePort = 40123, DestinationPort = 8080, TcpFlags = TcpFlags.Ack };
        Assert.Equal(DropReason.None, PacketParser.Parse(spec.Build(), out ParsedPacket packet));
        var expected = new Conntrack.FlowKey(in packet.Source, in packet.Destination, packet.SourcePortRaw, packet.DestinationPortRaw, packet.Protocol);
        Assert.Equal(expected, packet.Key); // FlowKey equality compares all 40 bytes, padding included
        Assert.Equal(expected.Hash64(7), packet.Key.Hash64(7));
        Assert.Equal(NetAddress.Parse(spec.Source), packet.Key.Source);
        Assert.Equal(BinaryPrimitives.ReverseEndianness((ushort)40123), packet.Key.SourcePortRaw);
    }

    [Fact]
    public void IPv4_options_move_the_L4_offset_and_fields_are_read_behind_them()
    {
        var spec = V4Tcp with { IPv4Options = [1, 1, 1, 1, 1, 1, 1, 0], VlanId = 9, SourcePort = 1234, DestinationPort = 8080, TcpFlags = TcpFlags.Ack | TcpFlags.Fin };
        Assert.Equal(DropReason.None, PacketParser.Parse(spec.Build(), out ParsedPacket p));
        Assert.Equal(18, p.L3Offset);
        Assert.Equal(18 + 28, p.L4Offset);
        Assert.Equal(NetAddress.Parse("10.0.0.1"), p.Source);
        Assert.Equal(NetAddress.Parse("10.96.0.10"), p.Destination);
        Assert.Equal(1234, BinaryPrimitives.ReverseEndianness(p.SourcePortRaw));
        Assert.Equal(8080, BinaryPrimitives.ReverseEndianness(p.DestinationPortRaw));
        Assert.Equal(TcpFlags.Ack | TcpFlags.Fin, p.TcpFlags);
        Assert.False(p.IsV6);
        Assert.Equal((byte)6, p.Protocol);
    }

    [Fact]
    public void IPv6_hop_by_hop_header_is_walked_to_the_UDP_header()
    {
        var spec = V6Udp with { IPv6HopByHop = true, SourcePort = 5353, DestinationPort = 53 };
        byte[] frame = spec.Build();
        Assert.Equal(DropReason.None, PacketParser.Parse(frame, out ParsedPacket p));
        Assert.True(p.IsV6);
        Assert.Equal(14 + 40 + 8, p.L4Offset);
        Assert.Equal(frame.Length, p.IpEnd);
        Assert.Equal((byte)17, p.Protocol);
        Assert.Equal(NetAddress.Parse("fd00::1"), p.Source);
        Assert.Equal(53, BinaryPrimitives.ReverseEndianness(p.DestinationPortRaw));
    }

    [Fact]
    public void IP_end_excludes_Ethernet_padding()
    {
        byte[] frame = (V4Udp with { PayloadLength = 0, PadFrameTo = 60 }).Build();
        Assert.Equal(DropReason.None, PacketParser.Parse(frame, out ParsedPacket p));
        Assert.Equal(14 + 28, p.IpEnd);
        Assert.Equal(60, frame.Length);
    }
}

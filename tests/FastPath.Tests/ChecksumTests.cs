using System.Buffers.Binary;
using FastPath.Addressing;
using FastPath.Packets;
using FastPath.Pipeline;
using FastPath.Tests.Fixtures;

namespace FastPath.Tests;

public class ChecksumTests
{
    [Fact]
    public void Incremental_update_matches_the_RFC_1624_worked_example()
    {
        // RFC 1624 §4: HC 0xDD2F, field 0x5555 → 0x3285 gives HC' 0x0000 with eqn. 3.
        Assert.Equal(0x0000, Checksum.Apply(0xDD2F, Checksum.Delta16(0x5555, 0x3285)));
    }

    [Fact]
    public void NAT_rewrites_keep_checksums_equal_to_a_full_recompute_over_ten_thousand_random_packets()
    {
        var random = new Random(1624);
        int udpWithoutChecksum = 0;
        for (int i = 0; i < 10_000; i++)
        {
            bool v6 = random.Next(2) == 0;
            FrameSpec spec = RandomSpec(random, v6);
            udpWithoutChecksum += spec.UdpNoChecksum ? 1 : 0;
            byte[] frame = spec.Build();
            Assert.Null(ReferenceChecksum.FindChecksumError(frame));
            Assert.Equal(DropReason.None, PacketParser.Parse(frame, out ParsedPacket packet));

            if (!spec.UdpNoChecksum)
            {
                ushort carried = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(packet.L4ChecksumOffset));
                Assert.Equal(carried, Checksum.ComputeL4(frame, in packet));
            }
            if (!v6)
                Assert.Equal(BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(packet.L3Offset + 10)), Checksum.ComputeIPv4Header(frame, packet.L3Offset));

            NetAddress backend = RandomAddress(random, v6);
            ushort backendPort = (ushort)random.Next(1, 65536);
            NatRewriter.RewriteDestination(frame, ref packet, in backend, BinaryPrimitives.ReverseEndianness(backendPort));
            AssertRewritten(frame, i, "DNAT", spec);
            var view = FrameView.Of(frame);
            Assert.Equal(backend, view.Destination);
            Assert.Equal(backendPort, view.DestinationPort);
            Assert.Equal(NetAddress.Parse(spec.Source), view.Source);

            NetAddress vip = RandomAddress(random, v6);
            ushort vipPort = (ushort)random.Next(1, 65536);
            NatRewriter.RewriteSource(frame, ref packet, in vip, BinaryPrimitives.ReverseEndianness(vipPort));
            AssertRewritten(frame, i, "reverse NAT", spec);
            view = FrameView.Of(frame);
            Assert.Equal(vip, view.Source);
            Assert.Equal(vipPort, view.SourcePort);
        }
        Assert.True(udpWithoutChecksum > 100, "the random set must include IPv4 UDP without checksum");
    }

    [Theory]
    [InlineData("10.0.0.1", "10.96.0.10")]
    [InlineData("fd00::1", "fd00:96::10")]
    public void UDP_checksum_that_computes_to_zero_is_sent_as_0xffff(string source, string destination)
    {
        var spec = new FrameSpec { Source = source, Destination = destination, Protocol = FrameSpec.Udp, PayloadLength = 5 };
        byte[] original = spec.Build();
        int sentAsFfff = 0;
        for (int port = 0; port < 65536; port++)
        {
            byte[] frame = (byte[])original.Clone();
            PacketParser.Parse(frame, out ParsedPacket packet);
            NatRewriter.RewriteDestination(frame, ref packet, in packet.Destination, BinaryPrimitives.ReverseEndianness((ushort)port));
            ushort check = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(packet.L4ChecksumOffset));
            Assert.NotEqual(0, check);
            if (check == 0xFFFF)
            {
                sentAsFfff++;
                Assert.Null(ReferenceChecksum.FindChecksumError(frame));
            }
        }
        Assert.True(sentAsFfff > 0, "some destination port must make the checksum compute to zero");
    }

    private static void AssertRewritten(byte[] frame, int index, string step, FrameSpec spec)
    {
        string? error = ReferenceChecksum.FindChecksumError(frame);
        Assert.True(error is null, $"packet {index} after {step}: {error} ({spec})");
        if (spec.UdpNoChecksum)
        {
            PacketParser.Parse(frame, out ParsedPacket p);
            Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(p.L4ChecksumOffset)));
        }
    }

    private static FrameSpec RandomSpec(Random random, bool v6)
    {
        byte protocol = random.Next(2) == 0 ? FrameSpec.Tcp : FrameSpec.Udp;
        var spec = new FrameSpec
        {
            Source = RandomAddress(random, v6).ToString(),
            Destination = RandomAddress(random, v6).ToString(),
            SourcePort = (ushort)random.Next(65536),
            DestinationPort = (ushort)random.Next(65536),
            Protocol = protocol,
            TcpFlags = (byte)random.Next(256),
            PayloadLength = random.Next(0, 65),
            PayloadSeed = (byte)random.Next(256),
            VlanId = random.Next(4) == 0 ? (ushort)random.Next(4096) : null,
            TcpOptionWords = random.Next(3),
            UdpNoChecksum = !v6 && protocol == FrameSpec.Udp && random.Next(4) == 0,
        };
        if (v6)
            return spec with { IPv6HopByHop = random.Next(4) == 0 };
        byte[] options = new byte[random.Next(0, 3) * 4];
        random.NextBytes(options);
        return spec with { IPv4Options = options };
    }

    private static NetAddress RandomAddress(Random random, bool v6)
    {
        if (!v6)
            return NetAddress.FromV4Raw((uint)random.NextInt64(1, uint.MaxValue));
        byte[] bytes = new byte[16];
        random.NextBytes(bytes);
        bytes[0] = 0xfd; // never the IPv4-mapped prefix
        return NetAddress.FromV6(bytes);
    }
}

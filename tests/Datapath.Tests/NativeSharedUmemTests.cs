using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Datapath.Tests.Infrastructure;
using FastPath.Addressing;
using FastPath.Native;
using FastPath.Xsk;

namespace Datapath.Tests;

/// <summary>
/// One UMEM shared by sockets on two devices: a frame received on one device is rewritten in
/// place and sent out of the other without copying — the fast path's forwarding shape.
/// <code>
///  netns B 10.81.1.2 ══ veth ══ x1 10.81.1.1  [netns A]  x2 10.81.2.1 ══ veth ══ netns C 10.81.2.2
///  route 10.81.100.0/24 via 10.81.1.1   fp_steer on x1 (slot 0)     UDP receiver :7000
///                                       XSK #1 on x1 registers the UMEM
///                                       XSK #2 on x2 shares it (own fill + completion rings)
///  frontend 10.81.100.1:7000/UDP
/// </code>
/// </summary>
public class NativeSharedUmemTests
{
    private const int FrameCount = 128;
    private const int RingSize = 32;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    [Fact]
    public void A_frame_received_on_one_device_is_sent_from_the_same_umem_frame_on_another()
    {
        using var a = NetNs.Create("fpua");
        using var b = NetNs.Create("fpub");
        using var c = NetNs.Create("fpuc");
        string s = a.Name[^6..];
        using var left = VethPair.Create(a, $"x1{s}", b, $"yb{s}");
        using var right = VethPair.Create(a, $"x2{s}", c, $"yc{s}");
        a.Exec("ip", "addr", "add", "10.81.1.1/24", "dev", left.NameA);
        a.Exec("ip", "addr", "add", "10.81.2.1/24", "dev", right.NameA);
        b.Exec("ip", "addr", "add", "10.81.1.2/24", "dev", left.NameB);
        c.Exec("ip", "addr", "add", "10.81.2.2/24", "dev", right.NameB);
        b.Exec("ip", "route", "add", "10.81.100.0/24", "via", "10.81.1.1");
        int x1 = a.Ifindex(left.NameA), x2 = a.Ifindex(right.NameA);
        byte[] macX2 = PacketBuilder.ParseMac(a.Mac(right.NameA));
        byte[] macC = PacketBuilder.ParseMac(c.Mac(right.NameB));

        var program = SteeringProgram.Load(SteeringProgram.DefaultObjectPath, $"/sys/fs/bpf/fastpath-test-{s}");
        try
        {
            a.RunInside(() => program.Attach(x1, XdpMode.Native));
            program.RegisterDevice(x1, 0);
            program.Services.Update(new ServiceMapKey(NetAddress.Parse("10.81.100.1"), 7000, L4Protocol.Udp), new ServiceMapValue());
            using var umem = Umem.Create(FrameCount);
            using var first = a.RunInside(() => XskSocket.Create(umem, x1, 0, XskBindMode.Copy, RingSize));
            using var second = a.RunInside(() => XskSocket.Create(umem, x2, 0, XskBindMode.Copy, RingSize));
            program.RegisterSocket(0, 0, first);
            Assert.NotEqual(first.Fd, second.Fd);

            var fill = first.Fill;
            uint n = fill.Reserve(RingSize, out uint fi);
            for (uint i = 0; i < n; i++)
                fill.FillCompAddr(fi + i) = umem.FrameAddress((int)i);
            fill.Submit(n);

            using var receiver = c.RunInside(() =>
            {
                var sock = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                sock.Bind(new IPEndPoint(IPAddress.Parse("10.81.2.2"), 7000));
                sock.ReceiveTimeout = (int)Timeout.TotalMilliseconds;
                return sock;
            });
            b.RunInside(() =>
            {
                using var sock = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                sock.SendTo(Encoding.ASCII.GetBytes("shared-umem #1"), new IPEndPoint(IPAddress.Parse("10.81.100.1"), 7000));
            });

            // RX on x1.
            var rx = first.Rx;
            var deadline = DateTime.UtcNow + Timeout;
            uint got, ri;
            while ((got = rx.Peek(1, out ri)) == 0 && DateTime.UtcNow < deadline)
                XskSocket.Poll([first.Fd], 50);
            Assert.Equal(1u, got);
            XdpDesc desc = rx.RxTxDesc(ri);
            rx.Release(1);

            // Rewrite in place: Ethernet towards C, destination IP to C, no UDP checksum.
            var frame = umem.Frame(desc.Addr, (int)desc.Len);
            macC.CopyTo(frame);
            macX2.CopyTo(frame[6..]);
            var ip = frame.Slice(PacketBuilder.EthernetBytes, PacketBuilder.Ipv4Bytes);
            IPAddress.Parse("10.81.2.2").TryWriteBytes(ip[16..], out _);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], 0);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], PacketBuilder.Ipv4Checksum(ip));
            BinaryPrimitives.WriteUInt16BigEndian(frame[(PacketBuilder.EthernetBytes + PacketBuilder.Ipv4Bytes + 6)..], 0);

            // TX the same UMEM address on x2's socket.
            var tx = second.Tx;
            Assert.Equal(1u, tx.Reserve(1, out uint ti));
            tx.RxTxDesc(ti) = desc;
            tx.Submit(1);
            if (tx.NeedsWakeup)
                second.KickTx();

            var buffer = new byte[128];
            int len = receiver.Receive(buffer);
            Assert.Equal("shared-umem #1", Encoding.ASCII.GetString(buffer, 0, len));

            // The frame completes on the second socket's own completion ring, not the first's.
            var comp = second.Completion;
            deadline = DateTime.UtcNow + Timeout;
            uint done, ci;
            while ((done = comp.Peek(1, out ci)) == 0 && DateTime.UtcNow < deadline)
                Thread.Sleep(5);
            Assert.Equal(1u, done);
            Assert.Equal(desc.Addr, comp.FillCompAddr(ci));
            comp.Release(1);
            Assert.Equal(0u, first.Completion.Peek(1, out _));
            Assert.Equal(0UL, first.ReadStatistics().RxDropped);
        }
        finally
        {
            a.RunInside(program.Dispose);
        }
    }
}

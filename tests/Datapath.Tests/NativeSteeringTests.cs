using FastPath.Conntrack;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Datapath.Tests.Infrastructure;
using FastPath.Addressing;
using FastPath.Native;
using FastPath.Xsk;

namespace Datapath.Tests;

/// <summary>
/// fp_steer + libfpshim + the C# ring driver against the real kernel.
/// <code>
///  netns A (fpsa-xxxxxx)                          netns B (fpsb-xxxxxx)
///  veth A 10.77.0.1/24  &lt;══════ veth ══════&gt;  veth B 10.77.0.2/24
///    fp_steer (native | generic)                  route 10.77.100.0/24 via 10.77.0.1
///    AF_XDP socket on rx queue 0 (copy)           UDP senders / receiver
///    device slot 5
///  frontend (fp_services): 10.77.100.1:8080/UDP
/// </code>
/// Tests: a datagram to the frontend lands on the RX ring with its payload; one to another port
/// does not and bumps pass_no_match; an ICMP echo is answered by A's kernel with XDP attached; a frame written to the TX ring
/// reaches a UDP socket in B and completes; a reply tuple put in fp_flows is redirected (and is
/// not before); batch map ops on the real maps. Native, generic and auto (= native on veth). Payloads name the test and the
/// packet number, so a stray frame is recognisable.
/// </summary>
public class NativeSteeringTests
{
    private static readonly IPAddress AddressA = IPAddress.Parse("10.77.0.1");
    private static readonly IPAddress AddressB = IPAddress.Parse("10.77.0.2");
    private static readonly IPAddress Vip = IPAddress.Parse("10.77.100.1");
    private const ushort FrontendPort = 8080;
    private const ushort OtherPort = 9090;
    private const int DeviceSlot = 5;
    private const int FrameCount = 256;
    private const int RingSize = 64;
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(3);
    // How long a frame that must NOT arrive is waited for (veth delivers in microseconds).
    private static readonly TimeSpan AbsenceWait = TimeSpan.FromMilliseconds(400);

    [Theory]
    [InlineData(XdpMode.Native)]
    [InlineData(XdpMode.Generic)]
    [InlineData(XdpMode.Auto)]
    public void Frontend_traffic_reaches_the_ring_and_everything_else_reaches_the_kernel(XdpMode mode)
    {
        using var t = Topology.Create(mode);

        t.AddFrontend(Vip, FrontendPort);
        var before = t.Program.ReadCounters();
        t.SendFromB(Vip, FrontendPort, 0, "frontend #1");
        var frame = t.Receive(ArrivalTimeout);
        Assert.NotNull(frame);
        Assert.Equal("frontend #1", PayloadOf(frame));

        t.SendFromB(Vip, OtherPort, 0, "other-port #2");
        Assert.Null(t.Receive(AbsenceWait));
        var after = t.Program.ReadCounters();
        Assert.True(after.NoMatch > before.NoMatch, $"pass_no_match did not grow: {before} -> {after}");
        Assert.True(after.Frontend > before.Frontend, $"redirect_frontend did not grow: {before} -> {after}");

        // ICMP is not steered: the kernel in A answers. (System.Net.NetworkInformation.Ping uses a
        // raw socket as root, so no ping binary is needed.)
        var reply = t.B.RunInside(() => new System.Net.NetworkInformation.Ping().Send(AddressA, 2000));
        Assert.Equal(System.Net.NetworkInformation.IPStatus.Success, reply.Status);
        Assert.True(t.Program.ReadCounters().NotL4 > after.NotL4, "the echo request was not counted as pass_not_l4");
    }

    [Fact]
    public void A_frame_written_to_the_tx_ring_reaches_a_socket_in_the_peer_namespace()
    {
        using var t = Topology.Create(XdpMode.Native);
        using var receiver = t.B.RunInside(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(AddressB, 40001));
            s.ReceiveTimeout = (int)ArrivalTimeout.TotalMilliseconds;
            return s;
        });
        var frame = PacketBuilder.UdpV4(t.MacA, t.MacB, AddressA, AddressB, 40000, 40001,
            Encoding.ASCII.GetBytes("tx #1"));

        ulong address = t.Umem.FrameAddress(FrameCount - 1); // outside the frames given to the fill ring
        frame.CopyTo(t.Umem.Frame(address, frame.Length));
        var tx = t.Socket.Tx; // a copy is fine: XskRing holds no cached indices
        Assert.Equal(1u, tx.Reserve(1, out uint index));
        ref var desc = ref tx.RxTxDesc(index);
        desc.Addr = address;
        desc.Len = (uint)frame.Length;
        desc.Options = 0;
        tx.Submit(1);
        if (tx.NeedsWakeup)
            t.Socket.KickTx();

        var buffer = new byte[256];
        int n = receiver.Receive(buffer);
        Assert.Equal("tx #1", Encoding.ASCII.GetString(buffer, 0, n));

        var completion = t.Socket.Completion;
        var deadline = DateTime.UtcNow + ArrivalTimeout;
        uint done;
        uint compIndex;
        while ((done = completion.Peek(1, out compIndex)) == 0 && DateTime.UtcNow < deadline)
            Thread.Sleep(5);
        Assert.Equal(1u, done);
        Assert.Equal(address, completion.FillCompAddr(compIndex));
        completion.Release(1);
    }

    [Fact]
    public void A_reply_tuple_in_fp_flows_is_redirected_and_not_before()
    {
        using var t = Topology.Create(XdpMode.Native);
        var key = FlowReplyKey.FromHostOrder(NetAddress.FromIPAddress(AddressB), 5555, NetAddress.FromIPAddress(AddressA), 6666,
            L4Protocol.Udp);

        t.SendFromB(AddressA, 6666, 5555, "reply #1 (no flow yet)");
        Assert.Null(t.Receive(AbsenceWait));

        var before = t.Program.ReadCounters();
        t.Program.Flows.Update(key, new FlowMapValue());
        t.SendFromB(AddressA, 6666, 5555, "reply #2");
        var frame = t.Receive(ArrivalTimeout);
        Assert.NotNull(frame);
        Assert.Equal("reply #2", PayloadOf(frame));
        Assert.True(t.Program.ReadCounters().Reply > before.Reply);
        Assert.True(t.Program.Flows.Delete(key));
        Assert.False(t.Program.Flows.Delete(key));
    }

    [Fact]
    public void Batch_updates_and_deletes_write_the_real_map()
    {
        string pin = $"/sys/fs/bpf/fastpath-test-{Guid.NewGuid().ToString("N")[..8]}";
        using var program = SteeringProgram.Load(SteeringProgram.DefaultObjectPath, pin);
        Assert.True(File.Exists(Path.Combine(pin, "fp_services")));
        Span<ServiceMapKey> keys = stackalloc ServiceMapKey[3];
        Span<ServiceMapValue> values = stackalloc ServiceMapValue[3];
        for (int i = 0; i < keys.Length; i++)
            keys[i] = new ServiceMapKey(NetAddress.Parse($"10.0.0.{i + 1}"), (ushort)(80 + i), L4Protocol.Tcp);

        Assert.Equal(3, program.Services.UpdateBatch<ServiceMapKey, ServiceMapValue>(keys, values));
        Assert.True(program.Services.TryLookup(keys[2], out ServiceMapValue _));
        Assert.Equal(3, program.Services.DeleteBatch<ServiceMapKey>(keys));
        Assert.False(program.Services.TryLookup(keys[0], out ServiceMapValue _));
        program.Dispose();
        Assert.False(Directory.Exists(pin));
    }

    private static string PayloadOf(byte[] frame) =>
        Encoding.ASCII.GetString(frame, PacketBuilder.UdpV4PayloadOffset, frame.Length - PacketBuilder.UdpV4PayloadOffset);

    /// <summary>The two namespaces, the program attached to A and one socket; Dispose undoes all of it.</summary>
    private sealed class Topology : IDisposable
    {
        public NetNs A = null!;
        public NetNs B = null!;
        public VethPair? Veth;
        public SteeringProgram Program = null!;
        public Umem Umem = null!;
        public XskSocket Socket = null!;
        public string MacA = "";
        public string MacB = "";
        private readonly List<Action> _cleanup = new();

        public static Topology Create(XdpMode mode)
        {
            var t = new Topology();
            try
            {
                t.Build(mode);
                return t;
            }
            catch
            {
                t.Dispose();
                throw;
            }
        }

        private void Build(XdpMode mode)
        {
            A = NetNs.Create("fpsa");
            _cleanup.Add(A.Dispose);
            B = NetNs.Create("fpsb");
            _cleanup.Add(B.Dispose);
            string suffix = A.Name[^6..];
            string vethA = $"fpa{suffix}", vethB = $"fpb{suffix}";
            Veth = VethPair.Create(A, vethA, B, vethB);
            _cleanup.Add(Veth.Dispose);
            A.Exec("ip", "addr", "add", "10.77.0.1/24", "dev", vethA);
            B.Exec("ip", "addr", "add", "10.77.0.2/24", "dev", vethB);
            B.Exec("ip", "route", "add", "10.77.100.0/24", "via", "10.77.0.1");
            MacA = A.Mac(vethA);
            MacB = B.Mac(vethB);
            int ifindex = A.Ifindex(vethA);

            string pin = $"/sys/fs/bpf/fastpath-test-{suffix}";
            Program = SteeringProgram.Load(SteeringProgram.DefaultObjectPath, pin);
            // Detach runs over netlink in the caller's netns: dispose inside A.
            _cleanup.Add(() => A.RunInside(Program.Dispose));
            var used = A.RunInside(() => Program.Attach(ifindex, mode));
            // veth has native XDP, so Auto must not fall back.
            Assert.Equal(mode == XdpMode.Auto ? XdpMode.Native : mode, used);
            Program.RegisterDevice(ifindex, DeviceSlot);

            Umem = Umem.Create(FrameCount);
            _cleanup.Add(Umem.Dispose);
            Socket = A.RunInside(() => XskSocket.Create(Umem, ifindex, 0, XskBindMode.Copy, RingSize));
            _cleanup.Add(Socket.Dispose);
            Program.RegisterSocket(DeviceSlot, 0, Socket);
            GiveFillRingFrames();
        }

        /// <summary>Frames 0..RingSize-1 go to the kernel for RX; the last frame is kept for TX.</summary>
        private void GiveFillRingFrames()
        {
            var fill = Socket.Fill;
            uint n = fill.Reserve(RingSize, out uint index);
            Assert.Equal((uint)RingSize, n);
            for (uint i = 0; i < n; i++)
                fill.FillCompAddr(index + i) = Umem.FrameAddress((int)i);
            fill.Submit(n);
            if (fill.NeedsWakeup)
                Socket.WakeUp();
        }

        public void AddFrontend(IPAddress vip, ushort port) =>
            Program.Services.Update(new ServiceMapKey(NetAddress.FromIPAddress(vip), port, L4Protocol.Udp),
                new ServiceMapValue());

        /// <summary>Sends one UDP datagram from B (source port 0 = any).</summary>
        public void SendFromB(IPAddress destination, ushort port, ushort sourcePort, string payload) =>
            B.RunInside(() =>
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                s.Bind(new IPEndPoint(AddressB, sourcePort));
                s.SendTo(Encoding.ASCII.GetBytes(payload), new IPEndPoint(destination, port));
            });

        /// <summary>The next frame on the RX ring (its frame goes straight back to the fill ring), or null.</summary>
        public byte[]? Receive(TimeSpan timeout)
        {
            var rx = Socket.Rx;
            var fill = Socket.Fill;
            var deadline = DateTime.UtcNow + timeout;
            Span<int> fds = [Socket.Fd];
            while (true)
            {
                uint n = rx.Peek(1, out uint index);
                if (n == 1)
                {
                    var desc = rx.RxTxDesc(index);
                    byte[] frame = Umem.Frame(desc.Addr, (int)desc.Len).ToArray();
                    rx.Release(1);
                    if (fill.Reserve(1, out uint f) == 1)
                    {
                        // Back to the frame's start: with no headroom Addr is the frame address.
                        fill.FillCompAddr(f) = desc.Addr - desc.Addr % (ulong)Umem.FrameSize;
                        fill.Submit(1);
                    }
                    return frame;
                }
                int left = (int)(deadline - DateTime.UtcNow).TotalMilliseconds;
                if (left <= 0)
                    return null;
                XskSocket.Poll(fds, Math.Min(left, 50));
            }
        }

        public void Dispose()
        {
            for (int i = _cleanup.Count - 1; i >= 0; i--)
            {
                try { _cleanup[i](); }
                catch (Exception) { /* keep cleaning: later steps still free kernel state */ }
            }
            _cleanup.Clear();
        }
    }
}

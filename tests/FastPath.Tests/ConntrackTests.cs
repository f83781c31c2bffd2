using System.Buffers.Binary;
using FastPath.Addressing;
using FastPath.Conntrack;
using FastPath.NextHop;
using FastPath.Packets;

namespace FastPath.Tests;

public class ConntrackTests
{
    private const byte Tcp = 6;
    private const byte Udp = 17;
    private static readonly NetAddress Vip = NetAddress.Parse("10.96.0.10");
    private static readonly NetAddress Backend = NetAddress.Parse("10.244.1.5");
    private static readonly ushort VipPort = Raw(80);
    private static readonly ushort BackendPort = Raw(8080);

    private static ushort Raw(int port) => BinaryPrimitives.ReverseEndianness((ushort)port);

    private static NetAddress Client(int n) => NetAddress.FromV4Raw(BinaryPrimitives.ReverseEndianness(0x0A000000u + (uint)n));

    private static FlowKey ForwardKey(int client, byte protocol = Tcp, int clientPort = 40000) =>
        new(Client(client), Vip, Raw(clientPort), VipPort, protocol);

    private static FlowKey ReplyKey(int client, byte protocol = Tcp, int clientPort = 40000) =>
        new(Backend, Client(client), BackendPort, Raw(clientPort), protocol);

    private static readonly CtNewFlow NewFlow = new(7, CtTable.BackendCheckOf(Backend, BackendPort), ingressSlot: 2,
        MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02:00:00:00:00:fe"));

    private static CtFlow Insert(CtTable ct, int client, byte protocol = Tcp, byte tcpFlags = TcpFlags.Syn, long nowMs = 0)
    {
        Assert.True(ct.TryInsertFlow(ForwardKey(client, protocol), ReplyKey(client, protocol), NewFlow, tcpFlags, nowMs, out CtFlow forward));
        return forward;
    }

    private static int SweepAll(CtTable ct, long nowMs, List<FlowReplyKey>? removed = null)
    {
        var buffer = new FlowReplyKey[64];
        int total = 0;
        int next = 0;
        do
        {
            int n = ct.Sweep(next, 16, nowMs, buffer, out next);
            removed?.AddRange(buffer.AsSpan(0, n).ToArray());
            total += n;
        } while (next != 0);
        return total;
    }

    [Fact]
    public void Inserted_flow_is_found_in_both_directions_with_its_NAT_data()
    {
        var ct = new CtTable(1024, hashSeed: 1);
        Insert(ct, 1);

        Assert.True(ct.TryLookup(ForwardKey(1), out CtFlow forward));
        Assert.Equal(CtDirection.Forward, forward.Direction);
        CtFlowDetails forwardDetails = ct.Details(forward);
        Assert.Equal(7u, forwardDetails.BackendId);
        Assert.Equal(Backend, forwardDetails.NatAddress);
        Assert.Equal(BackendPort, forwardDetails.NatPortRaw);

        Assert.True(ct.TryLookup(ReplyKey(1), out CtFlow reply));
        Assert.True(reply.IsReply);
        CtFlowDetails replyDetails = ct.Details(reply);
        Assert.Equal(Vip, replyDetails.NatAddress);
        Assert.Equal(VipPort, replyDetails.NatPortRaw);
        Assert.Equal(2, replyDetails.IngressSlot);
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:01"), replyDetails.ClientMac);
        Assert.Equal(forward.Index, reply.PartnerIndex);
        Assert.Equal(reply.Index, forward.PartnerIndex);

        Assert.False(ct.TryLookup(ForwardKey(2), out _));
        Assert.Equal(2, ct.CountEntries());
    }

    [Fact]
    public void Deleting_a_flow_removes_both_entries_once_and_reports_its_reply_key()
    {
        var ct = new CtTable(1024, hashSeed: 1);
        Insert(ct, 1);
        Insert(ct, 2);
        Assert.True(ct.TryLookup(ReplyKey(1), out CtFlow reply));

        Assert.True(ct.DeleteFlow(reply, out FlowReplyKey removed));
        Assert.Equal(ReplyKey(1), removed.ToFlowKey());
        Assert.False(ct.DeleteFlow(reply, out _));
        Assert.False(ct.TryLookup(ForwardKey(1), out _));
        Assert.False(ct.TryLookup(ReplyKey(1), out _));
        Assert.True(ct.TryLookup(ForwardKey(2), out _));
        Assert.Equal(2, ct.CountEntries());
    }

    [Fact]
    public void TCP_flow_lives_60s_after_SYN_6h_once_established_and_10s_after_FINs_from_both_sides()
    {
        var ct = new CtTable(1024, hashSeed: 1);
        long t = 1_000_000;
        Insert(ct, 1, Tcp, TcpFlags.Syn, t);
        Assert.Equal(0, SweepAll(ct, t + CtTimeouts.TcpSynMs - 1));

        // SYN-ACK from the backend keeps it half-open; the client's ACK establishes it.
        Assert.True(ct.TryLookup(ReplyKey(1), out CtFlow reply));
        Assert.True(ct.Touch(reply, Tcp, TcpFlags.Syn | TcpFlags.Ack, t + 10));
        Assert.True(ct.TryLookup(ForwardKey(1), out CtFlow forward));
        Assert.True(ct.Touch(forward, Tcp, TcpFlags.Ack, t + 20));
        Assert.Equal(0, SweepAll(ct, t + 20 + CtTimeouts.TcpSynMs + 1000));
        Assert.Equal(0, SweepAll(ct, t + 20 + CtTimeouts.TcpEstablishedMs - 1000));

        // FIN from the client alone: half-closed, still established lifetime.
        long closing = t + 100_000;
        Assert.True(ct.Touch(forward, Tcp, TcpFlags.Fin | TcpFlags.Ack, closing));
        Assert.Equal(0, SweepAll(ct, closing + CtTimeouts.TcpCloseMs + 1000));
        // FIN from the backend: both sides closing → 10 s.
        Assert.True(ct.Touch(reply, Tcp, TcpFlags.Fin | TcpFlags.Ack, closing + 1));
        Assert.Equal(0, SweepAll(ct, closing + 1 + CtTimeouts.TcpCloseMs - 1));
        var removed = new List<FlowReplyKey>();
        Assert.Equal(1, SweepAll(ct, closing + 1 + CtTimeouts.TcpCloseMs, removed));
        Assert.Equal(ReplyKey(1), removed[0].ToFlowKey());
        Assert.Equal(0, ct.CountEntries());
    }

    [Fact]
    public void Ordinary_segments_of_an_established_connection_refresh_its_expiry_in_either_direction()
    {
        var ct = new CtTable(1024, hashSeed: 1);
        long t = 1_000_000;
        CtFlow forward = Insert(ct, 1, Tcp, TcpFlags.Ack, t); // established from its first segment
        Assert.True(ct.TryLookup(ReplyKey(1), out CtFlow reply));

        // Data segments (no SYN, FIN or RST) near the end of each lifetime keep the flow alive.
        long later = t + CtTimeouts.TcpEstablishedMs - 1000;
        Assert.True(ct.Touch(forward, Tcp, TcpFlags.Psh | TcpFlags.Ack, later));
        Assert.Equal(0, SweepAll(ct, t + CtTimeouts.TcpEstablishedMs + 1000));
        long latest = later + CtTimeouts.TcpEstablishedMs - 1000;
        Assert.True(ct.Touch(reply, Tcp, TcpFlags.Ack, latest));
        Assert.Equal(0, SweepAll(ct, later + CtTimeouts.TcpEstablishedMs + 1000));
        Assert.Equal(1, SweepAll(ct, latest + CtTimeouts.TcpEstablishedMs));
    }

    [Fact]
    public void TCP_RST_shortens_the_lifetime_to_the_close_timeout()
    {
        var ct = new CtTable(1024, hashSeed: 1);
        CtFlow forward = Insert(ct, 1, Tcp, TcpFlags.Ack, 0);
        Assert.True(ct.TryLookup(ReplyKey(1), out CtFlow reply));
        Assert.True(ct.Touch(reply, Tcp, TcpFlags.Rst, 5000));
        Assert.Equal(0, SweepAll(ct, 5000 + CtTimeouts.TcpCloseMs - 1));
        Assert.Equal(1, SweepAll(ct, 5000 + CtTimeouts.TcpCloseMs));
        Assert.False(ct.Touch(forward, Tcp, TcpFlags.Ack, 20000));
    }

    [Fact]
    public void UDP_flow_expires_after_60s_idle_and_traffic_in_either_direction_extends_it()
    {
        var ct = new CtTable(1024, hashSeed: 1);
        Insert(ct, 1, Udp, 0, 0);
        Assert.True(ct.TryLookup(ReplyKey(1, Udp), out CtFlow reply));
        Assert.True(ct.Touch(reply, Udp, 0, 30_000));
        Assert.Equal(0, SweepAll(ct, 30_000 + CtTimeouts.NonTcpMs - 1));
        Assert.Equal(1, SweepAll(ct, 30_000 + CtTimeouts.NonTcpMs));
        Assert.False(ct.TryLookup(ForwardKey(1, Udp), out _));
        Assert.False(ct.Touch(reply, Udp, 0, 100_000));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // claims by plain store: a failed insert must still release its forward slot
    public void Full_table_rejects_new_flows_while_existing_flows_still_hit(bool singleInserter)
    {
        var ct = new CtTable(64, hashSeed: 3, singleInserter: singleInserter);
        int inserted = 0;
        int client = 0;
        while (client < 1000 && ct.TryInsertFlow(ForwardKey(client), ReplyKey(client), NewFlow, TcpFlags.Syn, 0, out _))
        {
            inserted++;
            client++;
        }
        Assert.True(inserted >= 16, $"two-choice buckets should fill well before failing (got {inserted} flows in 64 slots)");
        Assert.True(client < 1000);
        int rejectedClient = client;
        int entriesBefore = ct.CountEntries();
        Assert.False(ct.TryInsertFlow(ForwardKey(rejectedClient), ReplyKey(rejectedClient), NewFlow, TcpFlags.Syn, 0, out _));
        Assert.Equal(entriesBefore, ct.CountEntries()); // a failed insert leaves nothing claimed
        for (int c = 0; c < inserted; c++)
        {
            Assert.True(ct.TryLookup(ForwardKey(c), out CtFlow f));
            Assert.True(ct.Touch(f, Tcp, TcpFlags.Ack, 1));
            Assert.True(ct.TryLookup(ReplyKey(c), out _));
        }
    }

    [Theory]
    [InlineData(2, false)]
    [InlineData(1, true)] // one worker: claims are plain stores, the sweeper still deletes concurrently
    public void Inserting_threads_and_a_sweeper_lose_and_duplicate_no_entries(int inserters, bool singleInserter)
    {
        const int flowsPerThread = 20_000;
        var ct = new CtTable(1 << 17, hashSeed: 9, singleInserter: singleInserter);
        long expiredNow = CtTimeouts.TcpSynMs; // flows of "expired" threads were created at 0
        var sweptKeys = new System.Collections.Concurrent.ConcurrentBag<FlowReplyKey>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        int workersDone = 0;
        int workerFailures = 0; // asserting inside a thread would crash the test host instead of failing

        // The inserting threads insert disjoint client ranges at t = 1 h (alive); before them,
        // short-lived flows at t = 0 that the sweeper must remove concurrently.
        for (int c = 0; c < 2000; c++)
            Insert(ct, 1_000_000 + c, Tcp, TcpFlags.Syn, 0);

        var workers = new Thread[inserters];
        for (int w = 0; w < inserters; w++)
        {
            int worker = w;
            workers[w] = new Thread(() =>
            {
                for (int i = 0; i < flowsPerThread && !stop.IsCancellationRequested; i++)
                {
                    int c = worker * flowsPerThread + i;
                    if (!ct.TryInsertFlow(ForwardKey(c), ReplyKey(c), NewFlow, TcpFlags.Syn, 3_600_000, out _)
                        || !ct.TryLookup(ForwardKey(c), out _))
                        Interlocked.Increment(ref workerFailures);
                }
                Interlocked.Increment(ref workersDone);
            });
        }
        var sweeper = new Thread(() =>
        {
            var buffer = new FlowReplyKey[256];
            int next = 0;
            while (!stop.IsCancellationRequested)
            {
                bool finished = Volatile.Read(ref workersDone) == inserters;
                int n = ct.Sweep(next, 64, expiredNow, buffer, out next);
                foreach (var key in buffer.AsSpan(0, n))
                    sweptKeys.Add(key);
                if (finished && next == 0)
                    break;
            }
        });
        foreach (var t in workers) t.Start();
        sweeper.Start();
        foreach (var t in workers) Assert.True(t.Join(TimeSpan.FromSeconds(30)));
        Assert.True(sweeper.Join(TimeSpan.FromSeconds(30)));
        Assert.False(stop.IsCancellationRequested, "bounded run timed out");
        Assert.Equal(0, workerFailures);

        Assert.Equal(inserters * flowsPerThread * 2, ct.CountEntries());
        for (int c = 0; c < inserters * flowsPerThread; c++)
        {
            Assert.True(ct.TryLookup(ForwardKey(c), out CtFlow f), $"forward entry of flow {c} lost");
            Assert.True(ct.TryLookup(ReplyKey(c), out CtFlow r), $"reply entry of flow {c} lost");
            Assert.Equal(f.PartnerIndex, r.Index);
        }
        var swept = sweptKeys.Select(k => k.ToFlowKey()).ToList();
        Assert.Equal(2000, swept.Count);
        Assert.Equal(2000, swept.Distinct().Count());
        for (int c = 0; c < 2000; c++)
            Assert.Contains(ReplyKey(1_000_000 + c), swept);
    }
}

public class FlowReplyKeyLayoutTests
{
    [Fact]
    public void Flow_reply_key_has_the_byte_layout_of_fp_flow_key()
    {
        var source = NetAddress.Parse("10.244.1.5");
        var destination = NetAddress.Parse("fd00::1");
        var key = FlowReplyKey.From(new FlowKey(source, destination, BinaryPrimitives.ReverseEndianness((ushort)8080),
            BinaryPrimitives.ReverseEndianness((ushort)40000), 17));
        byte[] bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(new ReadOnlySpan<FlowReplyKey>(in key)).ToArray();

        Assert.Equal(40, bytes.Length);
        byte[] expected = new byte[40];
        source.WriteBytes(expected.AsSpan(0));       // saddr[16]
        destination.WriteBytes(expected.AsSpan(16)); // daddr[16]
        expected[32] = 8080 >> 8; expected[33] = 8080 & 0xFF;     // sport, network order
        expected[34] = 40000 >> 8; expected[35] = 40000 & 0xFF;   // dport, network order
        expected[36] = 17;                                         // proto, then 3 zero pad bytes
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("10.0.0.1", "10.244.1.7", 6)]
    [InlineData("fd00::1", "fd00:244::6", 17)]
    public void A_key_built_in_place_equals_the_constructed_key_padding_included(string source, string destination, byte protocol)
    {
        var s = NetAddress.Parse(source);
        var d = NetAddress.Parse(destination);
        var constructed = new FlowKey(in s, in d, 0x1234, 0xABCD, protocol);
        FlowKey.Build(out FlowKey built, in s, in d, 0x1234, 0xABCD, protocol);
        Assert.Equal(constructed, built); // all 40 bytes
        Assert.Equal(constructed.Hash64(99), built.Hash64(99));
        Assert.Equal((s, d, (ushort)0x1234, (ushort)0xABCD, protocol),
            (built.Source, built.Destination, built.SourcePortRaw, built.DestinationPortRaw, built.Protocol));
    }
}

using FastPath.Addressing;
using FastPath.Maglev;
using FastPath.Packets;
using FastPath.Pipeline;
using FastPath.Snapshot;
using FastPath.Tests.Fixtures;
using static FastPath.Tests.Fixtures.PipelineRig;

namespace FastPath.Tests;

/// <summary>
/// Per-frontend and per-backend packet/byte counters (PipelineCounters.Frontends/Backends):
/// indexed by the stable frontend id and the backend id, both directions of a flow counting
/// toward the flow's frontend and backend, only transmitted frames counted.
///
/// World: PipelineRig's client and backends; two TCP frontends on VIP 10.96.0.10, port 80
/// ("web", frontend id 7) and port 81 ("web-alt", frontend id 3), both placing every flow on
/// backend 1 (10.244.1.1:8080) — two frontends sharing one backend.
/// </summary>
public class TrafficCounterTests
{
    private const uint WebId = 7;
    private const uint WebAltId = 3;

    private static ForwardingSnapshot TwoFrontends(long revision, bool reversedOrder = false, uint extraBackendId = 0)
    {
        var b = new ForwardingSnapshotBuilder(MaglevParameters.Default);
        b.AddBackend(1, Backend1, 8080, L4Protocol.Tcp, clusterId: 1);
        b.AddBackend(2, Backend2, 8080, L4Protocol.Tcp, clusterId: 2);
        if (extraBackendId != 0)
            b.AddBackend(extraBackendId, NetAddress.Parse("10.244.9.9"), 8080, L4Protocol.Tcp, clusterId: 2);
        // The order decides FrontendEntry.Index; the ids must not care.
        if (reversedOrder)
        {
            b.AddFrontend(Vip4, 81, L4Protocol.Tcp, "default", "web-alt", AllSlots(1), WebAltId);
            b.AddFrontend(Vip4, 80, L4Protocol.Tcp, "default", "web", AllSlots(1), WebId);
        }
        else
        {
            b.AddFrontend(Vip4, 80, L4Protocol.Tcp, "default", "web", AllSlots(1), WebId);
            b.AddFrontend(Vip4, 81, L4Protocol.Tcp, "default", "web-alt", AllSlots(1), WebAltId);
        }
        return b.Build(revision);
    }

    private static (byte[] Frame, int Slot) Forward(int clientPort, int vipPort, byte flags) =>
        ((ToVip(clientPort, flags) with { DestinationPort = (ushort)vipPort }).Build(), ClientSlot);

    private static (byte[] Frame, int Slot) Reply(int clientPort, byte flags) =>
        (FromBackend(Backend1, clientPort, flags).Build(), BackendSlot);

    private static long Run(PipelineRig rig, ForwardingSnapshot snapshot, params (byte[] Frame, int Slot)[] packets)
    {
        long bytes = 0;
        rig.Pipeline.BeginBatch(snapshot, rig.NextHops, rig.NowMs);
        foreach (var (frame, slot) in packets)
        {
            PacketResult result = rig.Pipeline.Process(frame, slot);
            Assert.Equal(Verdict.Forward, result.Verdict);
            bytes += frame.Length;
        }
        rig.Pipeline.ClearPending();
        return bytes;
    }

    [Fact]
    public void Forward_and_reply_frames_count_toward_the_flows_frontend_and_backend()
    {
        var rig = new PipelineRig();
        var snapshot = TwoFrontends(1);
        long bytes = Run(rig, snapshot,
            Forward(40000, 80, TcpFlags.Syn),
            Reply(40000, TcpFlags.Syn | TcpFlags.Ack),
            Forward(40000, 80, TcpFlags.Ack));

        var c = rig.Pipeline.Counters;
        Assert.Equal(3, c.Frontends[WebId].Packets);
        Assert.Equal(bytes, c.Frontends[WebId].Bytes);
        Assert.Equal(3, c.Backends[1].Packets);
        Assert.Equal(bytes, c.Backends[1].Bytes);
        Assert.Equal(0, c.Frontends[WebAltId].Packets);
        Assert.Equal(0, c.Backends[2].Packets);
        Assert.Equal(1, c.Replies);
    }

    [Fact]
    public void Two_frontends_sharing_a_backend_count_separately_while_the_backend_counts_both()
    {
        var rig = new PipelineRig();
        var snapshot = TwoFrontends(1);
        long webBytes = Run(rig, snapshot,
            Forward(40000, 80, TcpFlags.Syn),
            Reply(40000, TcpFlags.Syn | TcpFlags.Ack));
        long altBytes = Run(rig, snapshot,
            Forward(40001, 81, TcpFlags.Syn),
            Reply(40001, TcpFlags.Syn | TcpFlags.Ack),
            Forward(40001, 81, TcpFlags.Ack),
            Forward(40001, 81, TcpFlags.Ack | TcpFlags.Psh));

        var c = rig.Pipeline.Counters;
        Assert.Equal(2, c.Frontends[WebId].Packets);
        Assert.Equal(webBytes, c.Frontends[WebId].Bytes);
        Assert.Equal(4, c.Frontends[WebAltId].Packets);
        Assert.Equal(altBytes, c.Frontends[WebAltId].Bytes);
        Assert.Equal(6, c.Backends[1].Packets);
        Assert.Equal(webBytes + altBytes, c.Backends[1].Bytes);
    }

    [Fact]
    public void Established_packets_keep_counting_toward_the_frontend_id_when_a_republish_reorders_frontends()
    {
        var rig = new PipelineRig();
        Run(rig, TwoFrontends(1), Forward(40000, 80, TcpFlags.Syn));
        var reordered = TwoFrontends(2, reversedOrder: true);
        Assert.NotEqual(0, reordered.FindFrontend(Vip4, System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((ushort)80),
            (byte)L4Protocol.Tcp)!.Index); // the index moved, the id did not
        Run(rig, reordered, Reply(40000, TcpFlags.Syn | TcpFlags.Ack), Forward(40000, 80, TcpFlags.Ack));

        Assert.Equal(3, rig.Pipeline.Counters.Frontends[WebId].Packets);
        Assert.Equal(0, rig.Pipeline.Counters.Frontends[WebAltId].Packets);
    }

    [Fact]
    public void Dropped_frames_count_as_drops_and_not_as_frontend_or_backend_traffic()
    {
        var rig = new PipelineRig();
        var snapshot = TwoFrontends(1);
        rig.Pipeline.BeginBatch(snapshot, rig.NextHops, rig.NowMs);
        // A packet to a port without a frontend, and a "reply" of no flow (no ct entry, no frontend either).
        Assert.Equal(Verdict.Drop, rig.Pipeline.Process(Forward(40000, 82, TcpFlags.Syn).Frame, ClientSlot).Verdict);
        Assert.Equal(Verdict.Drop, rig.Pipeline.Process(Reply(40009, TcpFlags.Ack).Frame, BackendSlot).Verdict);

        var c = rig.Pipeline.Counters;
        Assert.Equal(2, c.Dropped(DropReason.UnknownServicePort));
        foreach (TrafficCount t in c.Frontends)
            Assert.Equal(0, t.Packets);
        foreach (TrafficCount t in c.Backends)
            Assert.Equal(0, t.Packets);
    }

    [Fact]
    public void A_snapshot_with_higher_ids_grows_the_counters_at_batch_start_and_keeps_earlier_counts()
    {
        var rig = new PipelineRig();
        Run(rig, TwoFrontends(1), Forward(40000, 80, TcpFlags.Syn));
        var before = rig.Pipeline.Counters.Backends;
        const uint highId = 5000;
        Run(rig, TwoFrontends(2, extraBackendId: highId), Forward(40000, 80, TcpFlags.Ack));

        var c = rig.Pipeline.Counters;
        Assert.NotSame(before, c.Backends);
        Assert.True(c.Backends.Length > highId, $"backend counters hold {c.Backends.Length} ids, snapshot has id {highId}");
        Assert.Equal(2, c.Backends[1].Packets);
        Assert.Equal(2, c.Frontends[WebId].Packets);
    }
}

using FastPath.Conntrack;
using FastPath.Packets;
using FastPath.Pipeline;
using FastPath.Tests.Fixtures;
using static FastPath.Tests.Fixtures.PipelineRig;

namespace FastPath.Tests;

public class PipelineBatchTests
{
    /// <summary>
    /// <see cref="PacketPipeline.ProcessBatch{TFrames}"/> stages frames ahead of their turn; it must
    /// still be <see cref="PacketPipeline.Process"/> frame by frame. Two rigs with the same ct seed
    /// get the same random batches (sizes 1–64, client side or backend side), one frame by frame,
    /// one batched: verdicts, rewritten bytes, fp_flows keys, counters and ct contents must agree.
    /// The mix holds what the lookahead could get wrong — a flow created by one frame and used by a
    /// later one of the same batch (SYN then ACK, a retransmitted SYN), replies, FINs, UDP, frames
    /// for no VIP, truncated frames, a table small enough to fill (ct_full) and sweeps in between.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_batch_gives_the_same_results_as_its_frames_one_by_one(int seed)
    {
        var random = new Random(seed);
        uint[] table = Enumerable.Range(0, TableSize).Select(i => i % 3 == 0 ? 2u : 1u).ToArray();
        var snapshot = BuildSnapshot(1, table);
        var single = new PipelineRig(ctCapacity: 1 << 9);
        var batched = new PipelineRig(ctCapacity: 1 << 9);
        var buffers = new BatchBuffers(64);
        var results = new PacketResult[64];
        var expired = new FlowReplyKey[256];

        for (int batch = 0; batch < 400; batch++)
        {
            bool fromBackends = random.Next(3) == 0;
            int slot = fromBackends ? BackendSlot : ClientSlot;
            var frames = new List<byte[]>();
            int size = random.Next(1, 65);
            while (frames.Count < size)
            {
                byte[] frame = fromBackends ? BackendFrame(random) : ClientFrame(random);
                frames.Add(frame);
                if (random.Next(8) == 0 && frames.Count < size)
                    frames.Add((byte[])frame.Clone()); // the same packet twice in one batch
            }

            single.Pipeline.BeginBatch(snapshot, single.NextHops, single.NowMs);
            batched.Pipeline.BeginBatch(snapshot, batched.NextHops, batched.NowMs);
            buffers.Clear();
            foreach (byte[] frame in frames)
                buffers.Add(frame);
            var batchFrames = buffers.AsFrames();
            batched.Pipeline.ProcessBatch(ref batchFrames, slot, results);
            for (int i = 0; i < frames.Count; i++)
            {
                PacketResult expected = single.Pipeline.Process(frames[i], slot);
                Assert.True(expected.Equals(results[i]), $"batch {batch}, frame {i}: one by one {expected}, batched {results[i]}");
                Assert.True(frames[i].AsSpan().SequenceEqual(buffers.Frame(i)), $"batch {batch}, frame {i}: the rewritten bytes differ");
            }
            Assert.Equal(single.Pipeline.PendingReplyKeys.ToArray(), batched.Pipeline.PendingReplyKeys.ToArray());
            Assert.Equal(single.Pipeline.RemovedReplyKeys.ToArray(), batched.Pipeline.RemovedReplyKeys.ToArray());
            single.Pipeline.ClearPending();
            batched.Pipeline.ClearPending();

            if (random.Next(10) == 0)
            {
                // Time passes: closed and idle flows expire in both tables alike.
                long now = single.NowMs + random.Next(1_000, 150_000);
                single.NowMs = batched.NowMs = now;
                int a = single.Ct.Sweep(0, single.Ct.BucketCount, now, expired, out _);
                int b = batched.Ct.Sweep(0, batched.Ct.BucketCount, now, expired, out _);
                Assert.Equal(a, b);
            }
        }

        PipelineCounters s = single.Pipeline.Counters, b2 = batched.Pipeline.Counters;
        Assert.Equal(s.Packets, b2.Packets);
        Assert.Equal(s.Forwarded, b2.Forwarded);
        Assert.Equal(s.NewFlows, b2.NewFlows);
        Assert.Equal(s.Replies, b2.Replies);
        Assert.Equal(s.Drops, b2.Drops);
        Assert.Equal(single.Ct.CountEntries(), batched.Ct.CountEntries());
        // The mix really held all of it.
        Assert.True(s.NewFlows > 200 && s.Replies > 200, $"{s.NewFlows} new flows, {s.Replies} replies");
        foreach (DropReason reason in new[] { DropReason.CtFull, DropReason.UnknownServicePort, DropReason.Malformed })
            Assert.True(s.Drops[(int)reason] > 0, $"no {reason} drop in the mix");
    }

    private static byte[] ClientFrame(Random random)
    {
        int port = 30000 + random.Next(300);
        bool v6 = random.Next(4) == 0;
        byte[] frame = random.Next(12) switch
        {
            0 or 1 or 2 or 3 => ToVip(port, TcpFlags.Syn, v6).Build(),
            4 or 5 or 6 => ToVip(port, TcpFlags.Ack, v6).Build(),
            7 => ToVip(port, TcpFlags.Fin | TcpFlags.Ack, v6).Build(),
            8 => (ToVip(port, TcpFlags.Syn) with { Protocol = FrameSpec.Udp, DestinationPort = 53 }).Build(),
            9 => (ToVip(port, TcpFlags.Syn, v6) with { DestinationPort = 81 }).Build(), // no such frontend
            10 => ToVip(port, TcpFlags.Syn, v6).Build()[..random.Next(1, 54)], // truncated
            _ => ToVip(port, TcpFlags.Rst, v6).Build(),
        };
        return frame;
    }

    private static byte[] BackendFrame(Random random)
    {
        int port = 30000 + random.Next(300);
        int which = random.Next(8);
        var backend = which switch { 0 or 1 or 2 => Backend1, 3 or 4 => Backend2, 5 => Backend6, _ => Backend1 };
        string? client = backend == Backend6 ? "fd00::1" : null;
        byte flags = which == 7 ? (byte)(TcpFlags.Fin | TcpFlags.Ack) : (byte)(TcpFlags.Syn | TcpFlags.Ack);
        return FromBackend(backend, port, flags, client).Build();
    }
}

using FastPath.Addressing;
using FastPath.Observe;
using FastPath.Pipeline;
using FastPath.Tests.Fixtures;
using static FastPath.Tests.Fixtures.PipelineRig;

namespace FastPath.Tests;

/// <summary>
/// The per-worker event ring (Observe/FlowEventRing) on its own — overwrite, streaming, torn-read
/// protection — and the events the pipeline writes into it. Events written by hand describe
/// themselves: BackendId = sequence × 3, SourcePort = sequence mod 65536, so any copy can be checked.
/// </summary>
public class DropEventTests
{
    private static void Write(FlowEventRing ring, long count)
    {
        for (long i = 0; i < count; i++)
        {
            long seq = ring.Written;
            ref FlowEvent e = ref ring.Reserve();
            e.Kind = FlowEventKind.Drop;
            e.BackendId = (uint)(seq * 3);
            e.SourcePort = (ushort)seq;
            e.TimeMs = seq;
            ring.Publish();
        }
    }

    private static void AssertSelfConsistent(in FlowEvent e)
    {
        Assert.Equal((uint)(e.Sequence * 3), e.BackendId);
        Assert.Equal((ushort)e.Sequence, e.SourcePort);
        Assert.Equal(e.Sequence, e.TimeMs);
    }

    [Fact]
    public void Ring_keeps_the_newest_events_and_reports_how_many_a_late_reader_missed()
    {
        var ring = new FlowEventRing(8);
        Write(ring, 20);
        var buffer = new FlowEvent[16];

        int n = ring.ReadSince(0, buffer, out long next, out long missed);

        Assert.Equal(8, n);
        Assert.Equal(12, missed);
        Assert.Equal(20, next);
        Assert.Equal(Enumerable.Range(12, 8).Select(i => (long)i), buffer[..n].Select(e => e.Sequence));
        foreach (var e in buffer[..n])
            AssertSelfConsistent(e);
        Assert.Equal(20, ring.Written);
    }

    [Fact]
    public void Streaming_reader_continues_from_its_sequence_and_sees_nothing_twice()
    {
        var ring = new FlowEventRing(16);
        var seen = new List<long>();
        var buffer = new FlowEvent[5];
        long since = 0;
        for (int round = 0; round < 10; round++)
        {
            Write(ring, 7);
            long missed;
            do
            {
                int n = ring.ReadSince(since, buffer, out since, out missed);
                Assert.Equal(0, missed);
                seen.AddRange(buffer[..n].Select(e => e.Sequence));
                if (n == 0) break;
            } while (since < ring.Written);
        }
        Assert.Equal(Enumerable.Range(0, 70).Select(i => (long)i), seen);
        Assert.Equal(0, ring.ReadSince(70, buffer, out long next, out _));
        Assert.Equal(70, next);
    }

    [Fact]
    public void Empty_ring_reads_nothing_and_a_reader_ahead_of_the_writer_restarts_at_the_head()
    {
        var ring = new FlowEventRing(4);
        var buffer = new FlowEvent[4];
        Assert.Equal(0, ring.ReadSince(0, buffer, out long next, out long missed));
        Assert.Equal((0L, 0L), (next, missed));
        Write(ring, 2);
        Assert.Equal(0, ring.ReadSince(100, buffer, out next, out _));
        Assert.Equal(2, next);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(12)]
    public void Ring_capacity_must_be_a_power_of_two_of_at_least_two(int capacity)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new FlowEventRing(capacity));
        Assert.Contains("power of two", ex.Message);
    }

    /// <summary>A writer laps a small ring as fast as it can while a reader streams: every event the
    /// reader gets must be whole (never half old, half new) and in order; copied + missed covers the stream.</summary>
    [Fact]
    public void Reader_racing_a_lapping_writer_never_returns_a_torn_event()
    {
        const long total = 2_000_000;
        var ring = new FlowEventRing(64);
        var writer = new Thread(() => Write(ring, total)) { IsBackground = true, Name = "ring-writer" };
        writer.Start();
        var buffer = new FlowEvent[32];
        long since = 0, copied = 0, missedTotal = 0, last = -1;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((writer.IsAlive || since < total) && DateTime.UtcNow < deadline)
        {
            int n = ring.ReadSince(since, buffer, out since, out long missed);
            missedTotal += missed;
            for (int i = 0; i < n; i++)
            {
                AssertSelfConsistent(buffer[i]);
                Assert.True(buffer[i].Sequence > last);
                last = buffer[i].Sequence;
            }
            copied += n;
        }
        Assert.True(writer.Join(TimeSpan.FromSeconds(10)), "the writer did not finish");
        Assert.Equal(total, since);
        Assert.Equal(total, copied + missedTotal);
        Assert.True(copied > 0);
    }

    [Fact]
    public void Pipeline_records_created_flows_and_every_drop_with_what_it_knew()
    {
        var rig = new PipelineRig();
        var snapshot = BuildSnapshot(3, AllSlots(1));
        rig.Run(snapshot, ToVip(40001).Build(), ClientSlot);                                  // created
        rig.Run(snapshot, (ToVip(40002) with { DestinationPort = 81 }).Build(), ClientSlot);  // unknown_service_port
        byte[] truncated = ToVip(40003).Build()[..30];
        rig.Run(snapshot, truncated, ClientSlot);                                             // malformed

        var events = PolicyEnforcementTests.ReadAll(rig.Pipeline.Events);
        Assert.Equal(3, events.Length);
        Assert.Equal(new long[] { 0, 1, 2 }, events.Select(e => e.Sequence));

        Assert.Equal(FlowEventKind.FlowCreated, events[0].Kind);
        Assert.Equal(Verdict.Forward, events[0].Verdict);
        Assert.Equal((Vip4, (ushort)80, Backend1, (ushort)8080, 1u), (events[0].Destination, events[0].DestinationPort, events[0].Backend, events[0].BackendPort, events[0].BackendId));
        Assert.Equal(0, events[0].FrontendIndex);

        Assert.Equal(DropReason.UnknownServicePort, events[1].DropReason);
        Assert.Equal((ushort)40002, events[1].SourcePort);
        Assert.Equal((ushort)81, events[1].DestinationPort);
        Assert.Equal(-1, events[1].FrontendIndex);
        Assert.Equal(0u, events[1].BackendId);

        Assert.Equal(DropReason.Malformed, events[2].DropReason);
        Assert.Equal(default(NetAddress), events[2].Source);
        Assert.Equal(rig.Pipeline.Counters.TotalDrops, events.Count(e => e.Kind == FlowEventKind.Drop));
    }
}

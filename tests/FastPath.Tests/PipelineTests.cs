using FastPath.Addressing;
using FastPath.Conntrack;
using FastPath.Maglev;
using FastPath.NextHop;
using FastPath.Packets;
using FastPath.Pipeline;
using FastPath.Snapshot;
using FastPath.Tests.Fixtures;
using static FastPath.Tests.Fixtures.PipelineRig;

namespace FastPath.Tests;

public class PipelineTests
{
    private static void AssertForwarded(PacketResult result, int egressSlot, byte[] frame)
    {
        Assert.True(result.Verdict == Verdict.Forward, $"expected forward, got {result}");
        Assert.Equal(egressSlot, result.EgressSlot);
        Assert.Equal(frame.Length, result.Length);
        Assert.Null(ReferenceChecksum.FindChecksumError(frame));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void New_TCP_flow_to_a_VIP_is_DNATed_to_the_backend_keeping_the_client_source(bool v6)
    {
        var rig = new PipelineRig();
        var snapshot = BuildSnapshot(1, AllSlots(1));
        byte[] frame = ToVip(v6: v6).Build();

        PacketResult result = rig.Run(snapshot, frame, ClientSlot);

        AssertForwarded(result, BackendSlot, frame);
        var view = FrameView.Of(frame);
        Assert.Equal(NetAddress.Parse(v6 ? "fd00::1" : "10.0.0.1"), view.Source);
        Assert.Equal(40000, view.SourcePort);
        Assert.Equal(v6 ? Backend6 : Backend1, view.Destination);
        Assert.Equal(8080, view.DestinationPort);
        Assert.Equal(OurBackendSideMac, view.SourceMac);
        Assert.Equal(v6 ? Backend6Mac : Backend1Mac, view.DestinationMac);

        FlowReplyKey pending = Assert.Single(rig.Pipeline.PendingReplyKeys.ToArray());
        Assert.Equal(v6 ? Backend6 : Backend1, pending.Source);
        Assert.Equal(view.Source, pending.Destination);
        Assert.Equal((byte)6, pending.Protocol);
        Assert.Equal(1, rig.Pipeline.Counters.NewFlows);
        Assert.Equal(1, rig.Pipeline.Counters.Forwarded);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Backend_reply_is_reverse_NATed_to_the_VIP_and_sent_back_the_way_the_flow_came(bool v6)
    {
        var rig = new PipelineRig();
        var snapshot = BuildSnapshot(1, AllSlots(1));
        const int ingressSlot = 3; // the client's side may be any device
        rig.Run(snapshot, ToVip(v6: v6).Build(), ingressSlot);

        byte[] reply = FromBackend(v6 ? Backend6 : Backend1).Build();
        PacketResult result = rig.Run(snapshot, reply, BackendSlot);

        AssertForwarded(result, ingressSlot, reply);
        var view = FrameView.Of(reply);
        Assert.Equal(v6 ? Vip6 : Vip4, view.Source);
        Assert.Equal(80, view.SourcePort);
        Assert.Equal(NetAddress.Parse(v6 ? "fd00::1" : "10.0.0.1"), view.Destination);
        Assert.Equal(40000, view.DestinationPort);
        Assert.Equal(OurClientSideMac, view.SourceMac);
        Assert.Equal(ClientMac, view.DestinationMac);
        Assert.Equal(1, rig.Pipeline.Counters.Replies);
        Assert.Equal(2, rig.Pipeline.Counters.Forwarded);
    }

    [Fact]
    public void Established_flow_packets_go_to_the_same_backend_without_creating_flows()
    {
        var rig = new PipelineRig();
        var snapshot = BuildSnapshot(1, AllSlots(2));
        rig.Run(snapshot, ToVip().Build(), ClientSlot);
        rig.Pipeline.ClearPending();
        for (int i = 0; i < 5; i++)
        {
            byte[] frame = (ToVip(flags: TcpFlags.Ack) with { PayloadSeed = (byte)i }).Build();
            AssertForwarded(rig.Run(snapshot, frame, ClientSlot), BackendSlot, frame);
            Assert.Equal(Backend2, FrameView.Of(frame).Destination);
        }
        Assert.Equal(1, rig.Pipeline.Counters.NewFlows);
        Assert.Equal(0, rig.Pipeline.PendingReplyKeys.Length);
    }

    [Fact]
    public void Unknown_port_on_a_VIP_is_dropped_as_unknown_service_port()
    {
        var rig = new PipelineRig();
        byte[] frame = (ToVip() with { DestinationPort = 81 }).Build();
        PacketResult result = rig.Run(BuildSnapshot(1, AllSlots(1)), frame, ClientSlot);
        Assert.Equal(Verdict.Drop, result.Verdict);
        Assert.Equal(DropReason.UnknownServicePort, result.DropReason);
        Assert.Equal(1, rig.Pipeline.Counters.Dropped(DropReason.UnknownServicePort));
        Assert.Equal(0, rig.Ct.CountEntries());
    }

    [Fact]
    public void Frontend_with_an_empty_or_all_zero_table_drops_new_flows_as_no_backend()
    {
        var rig = new PipelineRig();
        Assert.Equal(DropReason.NoBackend, rig.Run(BuildSnapshot(1, []), ToVip().Build(), ClientSlot).DropReason);
        Assert.Equal(DropReason.NoBackend, rig.Run(BuildSnapshot(2, new uint[TableSize]), ToVip().Build(), ClientSlot).DropReason);
        Assert.Equal(2, rig.Pipeline.Counters.Dropped(DropReason.NoBackend));
        Assert.Equal(0, rig.Ct.CountEntries());
        Assert.Equal(0, rig.Pipeline.PendingReplyKeys.Length);
    }

    [Fact]
    public void Removed_backend_stops_its_flow_while_a_flow_on_another_backend_continues()
    {
        var rig = new PipelineRig();
        rig.Run(BuildSnapshot(1, AllSlots(1)), ToVip(clientPort: 1111).Build(), ClientSlot);   // flow A → backend 1
        rig.Run(BuildSnapshot(2, AllSlots(2)), ToVip(clientPort: 2222).Build(), ClientSlot);   // flow B → backend 2
        rig.Pipeline.ClearPending();
        var withoutBackend1 = BuildSnapshot(3, AllSlots(2), backend1: BackendStatus.Removed);

        PacketResult a = rig.Run(withoutBackend1, ToVip(clientPort: 1111, flags: TcpFlags.Ack).Build(), ClientSlot);
        Assert.Equal(DropReason.BackendRemoved, a.DropReason);
        FlowReplyKey removed = Assert.Single(rig.Pipeline.RemovedReplyKeys.ToArray());
        Assert.Equal(Backend1, removed.Source);

        // Backend 1's late reply is not translated either.
        byte[] lateReply = FromBackend(Backend1, clientPort: 1111).Build();
        Assert.Equal(Verdict.Drop, rig.Run(withoutBackend1, lateReply, BackendSlot).Verdict);

        byte[] b = ToVip(clientPort: 2222, flags: TcpFlags.Ack).Build();
        AssertForwarded(rig.Run(withoutBackend1, b, ClientSlot), BackendSlot, b);
        Assert.Equal(Backend2, FrameView.Of(b).Destination);
        byte[] bReply = FromBackend(Backend2, clientPort: 2222, flags: TcpFlags.Ack).Build();
        AssertForwarded(rig.Run(withoutBackend1, bReply, BackendSlot), ClientSlot, bReply);
        Assert.Equal(1, rig.Pipeline.Counters.Dropped(DropReason.BackendRemoved));
    }

    [Fact]
    public void Backend_that_disappears_from_the_snapshot_entirely_also_stops_its_flows()
    {
        var rig = new PipelineRig();
        rig.Run(BuildSnapshot(1, AllSlots(1)), ToVip().Build(), ClientSlot);
        var gone = BuildSnapshot(2, AllSlots(2), includeBackend1: false);
        Assert.Equal(DropReason.BackendRemoved, rig.Run(gone, ToVip(flags: TcpFlags.Ack).Build(), ClientSlot).DropReason);
        // The client's next SYN on the same tuple is a new flow on a remaining backend.
        byte[] retry = ToVip().Build();
        AssertForwarded(rig.Run(gone, retry, ClientSlot), BackendSlot, retry);
        Assert.Equal(Backend2, FrameView.Of(retry).Destination);
    }

    [Fact]
    public void A_backend_id_reused_for_another_address_stops_its_flows_instead_of_redirecting_them()
    {
        var rig = new PipelineRig();
        rig.Run(BuildSnapshot(1, AllSlots(1)), ToVip().Build(), ClientSlot); // the flow is pinned to id 1 = Backend1
        rig.Pipeline.ClearPending();
        var builder = new ForwardingSnapshotBuilder(MaglevParameters.Default);
        builder.AddBackend(1, NetAddress.Parse("10.244.9.9"), 8080, L4Protocol.Tcp, clusterId: 1);
        builder.AddFrontend(Vip4, 80, L4Protocol.Tcp, "default", "web", AllSlots(1));

        PacketResult result = rig.Run(builder.Build(2), ToVip(flags: TcpFlags.Ack).Build(), ClientSlot);

        Assert.Equal(DropReason.BackendRemoved, result.DropReason);
    }

    [Fact]
    public void Backend_set_change_keeps_existing_flows_on_their_backend_and_sends_new_flows_by_the_new_table()
    {
        var rig = new PipelineRig();
        rig.Run(BuildSnapshot(1, AllSlots(1)), ToVip(clientPort: 1111).Build(), ClientSlot);
        var changed = BuildSnapshot(2, AllSlots(2));

        byte[] existing = ToVip(clientPort: 1111, flags: TcpFlags.Ack).Build();
        AssertForwarded(rig.Run(changed, existing, ClientSlot), BackendSlot, existing);
        Assert.Equal(Backend1, FrameView.Of(existing).Destination);

        byte[] fresh = ToVip(clientPort: 3333).Build();
        AssertForwarded(rig.Run(changed, fresh, ClientSlot), BackendSlot, fresh);
        Assert.Equal(Backend2, FrameView.Of(fresh).Destination);
    }

    [Fact]
    public void New_flows_are_spread_by_the_Maglev_lookup_hash_over_the_table()
    {
        var rig = new PipelineRig(1 << 14);
        MaglevParameters parameters = MaglevParameters.Default;
        uint[] table = MaglevTableBuilder.Build(
            [new MaglevBackend(1, Backend1, 8080, L4Protocol.Tcp), new MaglevBackend(2, Backend2, 8080, L4Protocol.Tcp)],
            parameters with { TableSize = TableSize });
        var snapshot = BuildSnapshot(1, table);
        var perBackend = new Dictionary<NetAddress, int>();
        for (int port = 20000; port < 20400; port++)
        {
            byte[] frame = ToVip(clientPort: port).Build();
            PacketParser.Parse(frame, out ParsedPacket packet);
            uint hash = MaglevHash.LookupV4(packet.Source.V4Raw, packet.DestinationPortRaw, packet.SourcePortRaw, 6, parameters.LookupSeedV4);
            NetAddress expected = table[hash % TableSize] == 1 ? Backend1 : Backend2;

            AssertForwarded(rig.Run(snapshot, frame, ClientSlot), BackendSlot, frame);
            NetAddress actual = FrameView.Of(frame).Destination;
            Assert.Equal(expected, actual);
            perBackend[actual] = perBackend.GetValueOrDefault(actual) + 1;
        }
        Assert.InRange(perBackend.GetValueOrDefault(Backend1), 120, 280);
        Assert.InRange(perBackend.GetValueOrDefault(Backend2), 120, 280);
    }

    [Fact]
    public void Missing_next_hop_drops_as_no_neighbour_and_asks_the_resolver_once()
    {
        var rig = new PipelineRig { NextHops = NextHopTable.Empty };
        var snapshot = BuildSnapshot(1, AllSlots(1));
        Assert.Equal(DropReason.NoNeighbour, rig.Run(snapshot, ToVip(clientPort: 1).Build(), ClientSlot).DropReason);
        Assert.Equal(DropReason.NoNeighbour, rig.Run(snapshot, ToVip(clientPort: 2).Build(), ClientSlot).DropReason);
        Assert.Equal(Backend1, Assert.Single(rig.Pipeline.WantedNeighbours.ToArray()));
        Assert.Equal(0, rig.Ct.CountEntries()); // the client's retransmission creates the flow once resolved
    }

    [Fact]
    public void Within_its_hold_budget_a_frame_missing_its_next_hop_is_held_untouched_and_goes_out_once_resolved()
    {
        var rig = new PipelineRig { NextHops = NextHopTable.Empty };
        var snapshot = BuildSnapshot(1, AllSlots(1));
        byte[] first = ToVip(clientPort: 1).Build(), second = ToVip(clientPort: 2).Build(), third = ToVip(clientPort: 3).Build();
        byte[] firstAsReceived = first.ToArray();
        var pipeline = rig.Pipeline;
        pipeline.BeginBatch(snapshot, rig.NextHops, rig.NowMs);
        pipeline.NeighbourHoldBudget = 2;

        Assert.Equal(Verdict.Hold, pipeline.Process(first, ClientSlot).Verdict);
        Assert.Equal(Verdict.Hold, pipeline.Process(second, ClientSlot).Verdict);
        Assert.Equal(DropReason.NoNeighbour, pipeline.Process(third, ClientSlot).DropReason); // budget spent
        Assert.Equal(firstAsReceived, first);
        Assert.Equal(1, pipeline.Counters.Drops[(int)DropReason.NoNeighbour]);
        Assert.Equal(Backend1, Assert.Single(pipeline.WantedNeighbours.ToArray()));
        Assert.Equal(0, rig.Ct.CountEntries());

        // Still unresolved: held again while it may be; dropped (and counted) once its time is up.
        Assert.Equal(Verdict.Hold, pipeline.ProcessHeld(second, ClientSlot, mayHoldAgain: true).Verdict);
        Assert.Equal(DropReason.NoNeighbour, pipeline.ProcessHeld(second, ClientSlot, mayHoldAgain: false).DropReason);
        Assert.Equal(2, pipeline.Counters.Drops[(int)DropReason.NoNeighbour]);
        Assert.Equal(0, pipeline.NeighbourHoldBudget); // ProcessHeld leaves the batch's budget as it found it

        // Resolved: the held frame goes out as its flow's first packet.
        rig.NextHops = new PipelineRig().NextHops;
        pipeline.BeginBatch(snapshot, rig.NextHops, rig.NowMs);
        AssertForwarded(pipeline.ProcessHeld(first, ClientSlot, mayHoldAgain: true), BackendSlot, first);
        Assert.Equal(Backend1, FrameView.Of(first).Destination);
        Assert.Equal(Backend1Mac, FrameView.Of(first).DestinationMac);
        Assert.Equal(2, rig.Ct.CountEntries());
        Assert.Equal(3, pipeline.Counters.Packets); // frames processed again are not counted again
    }

    [Fact]
    public void An_established_flow_whose_next_hop_went_missing_is_held_within_the_budget_and_dropped_beyond_it()
    {
        var rig = new PipelineRig();
        var snapshot = BuildSnapshot(1, AllSlots(1));
        rig.Run(snapshot, ToVip().Build(), ClientSlot);
        rig.NextHops = NextHopTable.Empty;
        byte[] ack = ToVip(flags: TcpFlags.Ack).Build();
        byte[] ackAsReceived = ack.ToArray();

        rig.Pipeline.BeginBatch(snapshot, rig.NextHops, rig.NowMs);
        rig.Pipeline.NeighbourHoldBudget = 1;
        Assert.Equal(Verdict.Hold, rig.Pipeline.Process(ack, ClientSlot).Verdict);
        Assert.Equal(ackAsReceived, ack);
        Assert.Equal(DropReason.NoNeighbour, rig.Pipeline.Process(ToVip(flags: TcpFlags.Ack).Build(), ClientSlot).DropReason);
        Assert.Equal(Backend1, Assert.Single(rig.Pipeline.WantedNeighbours.ToArray()));
        Assert.Equal(2, rig.Ct.CountEntries()); // the flow stays: only its next hop is missing
    }

    [Fact]
    public void A_changed_next_hop_table_is_followed_by_established_flows_and_by_a_new_snapshot_reusing_a_backend_id()
    {
        var rig = new PipelineRig();
        var snapshot = BuildSnapshot(1, AllSlots(2));
        rig.Run(snapshot, ToVip().Build(), ClientSlot);
        byte[] first = ToVip(flags: TcpFlags.Ack).Build();
        AssertForwarded(rig.Run(snapshot, first, ClientSlot), BackendSlot, first);
        Assert.Equal(Backend2Mac, FrameView.Of(first).DestinationMac);

        // The resolver publishes a new table: Backend2 moved to another MAC and device.
        var moved = MacAddress.Parse("02:00:00:00:00:c2");
        rig.NextHops = new NextHopTable(new Dictionary<NetAddress, NextHop.NextHop>
        {
            [Backend1] = new(BackendSlot, OurBackendSideMac, Backend1Mac),
            [Backend2] = new(ClientSlot, OurClientSideMac, moved),
        });
        byte[] second = ToVip(flags: TcpFlags.Ack).Build();
        AssertForwarded(rig.Run(snapshot, second, ClientSlot), ClientSlot, second);
        Assert.Equal(moved, FrameView.Of(second).DestinationMac);

        // Same next-hop table, new snapshot: id 2 now names Backend1, so a new flow through id 2
        // must use Backend1's hop, not the one cached for id 2 under the old snapshot.
        var swapped = ForwardingSnapshotWithIds(2, Backend1);
        byte[] third = ToVip(clientPort: 40001).Build();
        AssertForwarded(rig.Run(swapped, third, ClientSlot), BackendSlot, third);
        Assert.Equal(Backend1, FrameView.Of(third).Destination);
        Assert.Equal(Backend1Mac, FrameView.Of(third).DestinationMac);
    }

    private static ForwardingSnapshot ForwardingSnapshotWithIds(uint id, NetAddress address)
    {
        var builder = new ForwardingSnapshotBuilder(MaglevParameters.Default);
        builder.AddBackend(id, address, 8080, L4Protocol.Tcp, clusterId: 1);
        builder.AddFrontend(Vip4, 80, L4Protocol.Tcp, "default", "web", AllSlots(id));
        return builder.Build(2);
    }

    [Fact]
    public void Full_conntrack_drops_new_flows_as_ct_full_while_existing_flows_keep_working()
    {
        var rig = new PipelineRig(ctCapacity: 16);
        var snapshot = BuildSnapshot(1, AllSlots(1));
        var established = new List<int>();
        int port = 10000;
        PacketResult result;
        while ((result = rig.Run(snapshot, ToVip(clientPort: port).Build(), ClientSlot)).Verdict == Verdict.Forward && port < 10100)
            established.Add(port++);
        Assert.Equal(DropReason.CtFull, result.DropReason);
        Assert.NotEmpty(established);
        Assert.Equal(1, rig.Pipeline.Counters.Dropped(DropReason.CtFull));
        foreach (int p in established)
        {
            byte[] frame = ToVip(clientPort: p, flags: TcpFlags.Ack).Build();
            AssertForwarded(rig.Run(snapshot, frame, ClientSlot), BackendSlot, frame);
            byte[] reply = FromBackend(Backend1, clientPort: p).Build();
            AssertForwarded(rig.Run(snapshot, reply, BackendSlot), ClientSlot, reply);
        }
    }

    [Fact]
    public void UDP_flow_is_translated_both_ways()
    {
        var rig = new PipelineRig();
        var snapshot = BuildSnapshot(1, AllSlots(1), udpTable: AllSlots(12));
        byte[] query = (ToVip() with { Protocol = FrameSpec.Udp, DestinationPort = 53 }).Build();
        AssertForwarded(rig.Run(snapshot, query, ClientSlot), BackendSlot, query);
        Assert.Equal(Backend2, FrameView.Of(query).Destination);
        Assert.Equal(53, FrameView.Of(query).DestinationPort);

        byte[] answer = (FromBackend(Backend2) with { Protocol = FrameSpec.Udp, SourcePort = 53, UdpNoChecksum = true }).Build();
        AssertForwarded(rig.Run(snapshot, answer, BackendSlot), ClientSlot, answer);
        Assert.Equal(Vip4, FrameView.Of(answer).Source);
    }

    [Fact]
    public void Malformed_and_fragmented_frames_are_dropped_and_counted_per_reason()
    {
        var rig = new PipelineRig();
        var snapshot = BuildSnapshot(1, AllSlots(1));
        Assert.Equal(DropReason.Malformed, rig.Run(snapshot, ToVip().Build()[..30], ClientSlot).DropReason);
        Assert.Equal(DropReason.Fragment, rig.Run(snapshot, (ToVip() with { IPv4FragmentWord = 0x2000 }).Build(), ClientSlot).DropReason);
        Assert.Equal(1, rig.Pipeline.Counters.Dropped(DropReason.Malformed));
        Assert.Equal(1, rig.Pipeline.Counters.Dropped(DropReason.Fragment));
        Assert.Equal(2, rig.Pipeline.Counters.TotalDrops);
        Assert.Equal(2, rig.Pipeline.Counters.Packets);
    }

    [Fact]
    public void Snapshot_builder_rejects_a_table_naming_an_unknown_backend()
    {
        var builder = new ForwardingSnapshotBuilder(MaglevParameters.Default)
            .AddBackend(1, Backend1, 8080, L4Protocol.Tcp, 1)
            .AddFrontend(Vip4, 80, L4Protocol.Tcp, "default", "web", [1, 9]);
        var error = Assert.Throws<ArgumentException>(() => builder.Build(1));
        Assert.Contains("default/web", error.Message);
        Assert.Contains("9", error.Message);
    }
}

public class PipelineReplyTupleTests
{
    [Fact]
    public void Same_client_port_reaching_the_same_backend_through_a_second_VIP_is_refused_not_mistranslated()
    {
        var rig = new PipelineRig();
        var secondVip = NetAddress.Parse("10.96.0.11");
        var snapshot = new ForwardingSnapshotBuilder(MaglevParameters.Default)
            .AddBackend(1, Backend1, 8080, L4Protocol.Tcp, 1)
            .AddFrontend(Vip4, 80, L4Protocol.Tcp, "default", "web", AllSlots(1))
            .AddFrontend(secondVip, 80, L4Protocol.Tcp, "default", "web-alias", AllSlots(1))
            .Build(1);
        Assert.Equal(Verdict.Forward, rig.Run(snapshot, ToVip(5000).Build(), ClientSlot).Verdict);
        byte[] viaSecond = (ToVip(5000) with { Destination = "10.96.0.11" }).Build();
        Assert.Equal(DropReason.ReplyTupleInUse, rig.Run(snapshot, viaSecond, ClientSlot).DropReason);

        byte[] reply = FromBackend(Backend1, clientPort: 5000).Build();
        Assert.Equal(Verdict.Forward, rig.Run(snapshot, reply, BackendSlot).Verdict);
        Assert.Equal(Vip4, FrameView.Of(reply).Source); // still the first flow's VIP
    }
}

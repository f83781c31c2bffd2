using System.Runtime.CompilerServices;
using FastPath.Addressing;
using FastPath.Conntrack;
using FastPath.NextHop;
using FastPath.Packets;
using FastPath.Snapshot;

namespace FastPath.Pipeline;

/// <summary>
/// One worker's packet path: parse → ct lookup → (reply: reverse NAT) / (forward: DNAT to the
/// pinned backend) / (new: frontend → Maglev slot → backend → ct create → DNAT) → MACs →
/// egress slot. One instance per worker thread; not thread-safe by itself (the ct table is).
///
/// Per batch the worker calls <see cref="BeginBatch"/> (reads the published snapshot and
/// next-hop table once, plus the coarse clock), then <see cref="Process"/> per frame, then
/// flushes <see cref="RemovedReplyKeys"/> (delete from fp_flows), then
/// <see cref="PendingReplyKeys"/> (add to fp_flows) — in that order, so a flow removed and
/// recreated within one batch ends up present — passes <see cref="WantedNeighbours"/> to the
/// resolver, and calls <see cref="ClearPending"/>.
///
/// Replies leave through the device and previous hop the flow's first packet came from (both
/// recorded in the ct reply entry): the client — or the router in front of it — is directly
/// connected there, so no route or neighbour lookup is needed toward the client, and
/// asymmetric routes cannot send a reply out of a device the client's path does not use.
///
/// Hot path rules: no allocation, exceptions, logging, locks or virtual calls per frame;
/// rare outcomes live in NoInlining methods.
/// </summary>
public sealed class PacketPipeline
{
    /// <summary>New flows one batch may create before <see cref="DropReason.FlowBacklogFull"/>;
    /// well above any ring batch size.</summary>
    public const int DefaultPendingCapacity = 1024;
    /// <summary>Distinct unresolved next hops reported per batch.</summary>
    public const int DefaultWantedCapacity = 64;

    private readonly CtTable _ct;
    private readonly long[] _drops;
    private readonly FlowReplyKey[] _pendingReplyKeys;
    private int _pendingCount;
    private readonly FlowReplyKey[] _removedReplyKeys;
    private int _removedCount;
    private readonly NetAddress[] _wantedNeighbours;
    private int _wantedCount;

    // Per-batch view, read once in BeginBatch.
    private ForwardingSnapshot _snapshot = null!;
    private NextHopTable _nextHops = null!;
    private long _nowMs;
    private uint _seedV4;
    private uint _seedV6;

    public PacketPipeline(CtTable ct, int pendingCapacity = DefaultPendingCapacity, int wantedCapacity = DefaultWantedCapacity)
    {
        ArgumentNullException.ThrowIfNull(ct);
        ArgumentOutOfRangeException.ThrowIfLessThan(pendingCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(wantedCapacity, 1);
        _ct = ct;
        Counters = new PipelineCounters();
        _drops = Counters.Drops;
        _pendingReplyKeys = new FlowReplyKey[pendingCapacity];
        _removedReplyKeys = new FlowReplyKey[pendingCapacity];
        _wantedNeighbours = new NetAddress[wantedCapacity];
    }

    public PipelineCounters Counters { get; }

    /// <summary>fp_flows keys of flows created since the last <see cref="ClearPending"/>: add them to the BPF map.</summary>
    public ReadOnlySpan<FlowReplyKey> PendingReplyKeys => _pendingReplyKeys.AsSpan(0, _pendingCount);

    /// <summary>fp_flows keys of flows this worker removed (backend gone): delete them from the BPF map first.</summary>
    public ReadOnlySpan<FlowReplyKey> RemovedReplyKeys => _removedReplyKeys.AsSpan(0, _removedCount);

    /// <summary>Next-hop addresses that were missing from the next-hop table (each once): ask the resolver.</summary>
    public ReadOnlySpan<NetAddress> WantedNeighbours => _wantedNeighbours.AsSpan(0, _wantedCount);

    public void ClearPending()
    {
        _pendingCount = 0;
        _removedCount = 0;
        _wantedCount = 0;
    }

    /// <summary>Fixes the snapshot, next-hop table and clock for the frames of one batch. Must precede <see cref="Process"/>.</summary>
    public void BeginBatch(ForwardingSnapshot snapshot, NextHopTable nextHops, long nowMs)
    {
        _snapshot = snapshot;
        _nextHops = nextHops;
        _nowMs = nowMs;
        _seedV4 = snapshot.LookupSeedV4;
        _seedV6 = snapshot.LookupSeedV6;
    }

    /// <summary>Processes one frame in place. On Forward, transmit <paramref name="frame"/> on the returned egress slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PacketResult Process(Span<byte> frame, int ingressSlot)
    {
        Counters.Packets++;
        DropReason reason = PacketParser.Parse(frame, out ParsedPacket packet);
        if (reason != DropReason.None)
            return Drop(reason);

        var key = new FlowKey(in packet.Source, in packet.Destination, packet.SourcePortRaw, packet.DestinationPortRaw, packet.Protocol);
        if (_ct.TryLookup(in key, out CtFlow flow))
            return flow.IsReply ? ForwardReply(frame, ref packet, in flow) : ForwardExisting(frame, ref packet, in flow);
        return ProcessNewFlow(frame, ref packet, in key, ingressSlot);
    }

    /// <summary>client → VIP packet of a flow ct already pins to a backend.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PacketResult ForwardExisting(Span<byte> frame, ref ParsedPacket packet, in CtFlow flow)
    {
        // The flow keeps its backend whatever the Maglev table says now — unless the backend is gone.
        if (!_snapshot.IsBackendLive(flow.BackendId, in flow.NatAddress, flow.NatPortRaw))
            return StopFlow(in flow);
        if (!_ct.Touch(in flow, packet.Protocol, packet.TcpFlags, _nowMs))
            return Drop(DropReason.NoFlow);
        if (!_nextHops.TryGet(in flow.NatAddress, out NextHop.NextHop hop))
            return MissingNeighbour(in flow.NatAddress);

        NatRewriter.RewriteDestination(frame, ref packet, in flow.NatAddress, flow.NatPortRaw);
        NatRewriter.RewriteMacs(frame, hop.Source, hop.Destination);
        Counters.Forwarded++;
        return PacketResult.Forward(hop.DeviceSlot, frame.Length);
    }

    /// <summary>backend → client packet: source back to VIP:port, out the way the flow came in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PacketResult ForwardReply(Span<byte> frame, ref ParsedPacket packet, in CtFlow flow)
    {
        if (!_snapshot.IsBackendLive(flow.BackendId, in packet.Source, packet.SourcePortRaw))
            return StopFlow(in flow);
        if (!_ct.Touch(in flow, packet.Protocol, packet.TcpFlags, _nowMs))
            return Drop(DropReason.NoFlow);

        NatRewriter.RewriteSource(frame, ref packet, in flow.NatAddress, flow.NatPortRaw);
        NatRewriter.RewriteMacs(frame, in flow.LocalMac, in flow.ClientMac);
        Counters.Replies++;
        Counters.Forwarded++;
        return PacketResult.Forward(flow.IngressSlot, frame.Length);
    }

    /// <summary>First packet of a flow: pick a backend, create ct state, DNAT.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private PacketResult ProcessNewFlow(Span<byte> frame, ref ParsedPacket packet, in FlowKey key, int ingressSlot)
    {
        ForwardingSnapshot snapshot = _snapshot;
        FrontendEntry? frontend = snapshot.FindFrontend(in packet.Destination, packet.DestinationPortRaw, packet.Protocol);
        if (frontend is null)
            return Drop(DropReason.UnknownServicePort);
        uint[] table = frontend.MaglevTable;
        if (table.Length == 0)
            return Drop(DropReason.NoBackend);
        uint backendId = table[BackendSelector.Slot(in packet, table.Length, _seedV4, _seedV6)];
        ref readonly BackendEntry backend = ref snapshot.Backend(backendId); // id 0 → Status None
        if (backend.Status != BackendStatus.Active)
            return Drop(DropReason.NoBackend);
        if (!AdmitNewFlow(in packet, frontend, backendId))
            return Drop(DropReason.PolicyDenied);
        if (_pendingCount == _pendingReplyKeys.Length)
            return Drop(DropReason.FlowBacklogFull);
        if (!_nextHops.TryGet(in backend.Address, out NextHop.NextHop hop))
            return MissingNeighbour(in backend.Address);

        var replyKey = new FlowKey(in backend.Address, in packet.Source, backend.PortRaw, packet.SourcePortRaw, packet.Protocol);
        if (_ct.TryLookup(in replyKey, out _))
            return Drop(DropReason.ReplyTupleInUse);
        var newFlow = new CtNewFlow(backendId, in backend.Address, backend.PortRaw, ingressSlot,
            clientMac: MacAddress.FromBytes(frame.Slice(6, 6)), localMac: MacAddress.FromBytes(frame.Slice(0, 6)));
        if (!_ct.TryInsertFlow(in key, in replyKey, in newFlow, packet.TcpFlags, _nowMs, out _))
            return Drop(DropReason.CtFull);
        _pendingReplyKeys[_pendingCount++] = FlowReplyKey.From(in replyKey);
        Counters.NewFlows++;

        NatRewriter.RewriteDestination(frame, ref packet, in backend.Address, backend.PortRaw);
        NatRewriter.RewriteMacs(frame, hop.Source, hop.Destination);
        Counters.Forwarded++;
        return PacketResult.Forward(hop.DeviceSlot, frame.Length);
    }

    /// <summary>
    /// Policy seam (SPEC §7, a later issue): the verdict for a new flow is decided here, once,
    /// after backend selection, and then cached by the ct entry. No policy exists yet, so
    /// every flow is admitted; a denied flow will drop with <see cref="DropReason.PolicyDenied"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AdmitNewFlow(in ParsedPacket packet, FrontendEntry frontend, uint backendId) => true;

    /// <summary>The flow's backend left the snapshot: drop, and delete the flow so the sweeper
    /// need not wait for its timeout. If the removal buffer is full the flow stays for now;
    /// its next packet or the sweeper removes it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private PacketResult StopFlow(in CtFlow flow)
    {
        if (_removedCount < _removedReplyKeys.Length && _ct.DeleteFlow(in flow, out FlowReplyKey replyKey))
        {
            int pending = PendingIndexOf(in replyKey);
            if (pending >= 0)
                _pendingReplyKeys[pending] = _pendingReplyKeys[--_pendingCount]; // created this batch: never reached the map
            else
                _removedReplyKeys[_removedCount++] = replyKey;
        }
        return Drop(DropReason.BackendRemoved);
    }

    private int PendingIndexOf(in FlowReplyKey key)
    {
        for (int i = 0; i < _pendingCount; i++)
            if (_pendingReplyKeys[i].Equals(key))
                return i;
        return -1;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private PacketResult MissingNeighbour(in NetAddress address)
    {
        bool known = false;
        for (int i = 0; i < _wantedCount; i++)
            known |= _wantedNeighbours[i] == address;
        if (!known && _wantedCount < _wantedNeighbours.Length)
            _wantedNeighbours[_wantedCount++] = address;
        return Drop(DropReason.NoNeighbour);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PacketResult Drop(DropReason reason)
    {
        _drops[(int)reason]++;
        return PacketResult.Drop(reason);
    }
}

using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using FastPath.Addressing;
using FastPath.Conntrack;
using FastPath.Maglev;
using FastPath.NextHop;
using FastPath.Observe;
using FastPath.Packets;
using FastPath.Snapshot;

namespace FastPath.Pipeline;

/// <summary>
/// One worker's packet path: parse → ct lookup → (reply: reverse NAT) / (forward: DNAT to the
/// pinned backend) / (new: frontend → Maglev slot → backend → ct create → DNAT) → MACs →
/// egress slot. One instance per worker thread; not thread-safe by itself (the ct table is).
///
/// Per batch the worker calls <see cref="BeginBatch"/> (reads the published snapshot and
/// next-hop table once, plus the coarse clock), then <see cref="ProcessBatch{TFrames}"/> (or
/// <see cref="Process"/> per frame), then
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
/// A destination whose neighbour is not resolved yet is asked for (<see cref="WantedNeighbours"/>)
/// and, while the worker has room (<see cref="NeighbourHoldBudget"/>), its frame is held untouched
/// (<see cref="Verdict.Hold"/>) and handed back later through <see cref="ProcessHeld"/>; without
/// room it is dropped as no_neighbour.
///
/// Policy (SPEC §7): a new flow's verdict is decided once, after backend selection
/// (<see cref="PolicyCheck"/>), and cached in ct as the snapshot's policy revision. A packet of an
/// existing flow compares that cached revision with the snapshot's — one int compare — and only
/// when they differ re-decides: still allowed → the new revision is cached; forbidden → the flow
/// is stopped like a removed backend's (drop policy_denied, flow deleted).
///
/// Every drop and every created flow is also written to <see cref="Events"/> (bounded, overwrites
/// the oldest) for the observe command.
///
/// Hot path rules: no allocation, exceptions, logging, locks or virtual calls per frame;
/// rare outcomes live in NoInlining methods.
/// </summary>
// SkipLocalsInit: no stackalloc here and every local is assigned before it is read, so zeroing
// the frames on entry (320 bytes in ProcessNewFlow) was pure cost.
[SkipLocalsInit]
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
    private readonly FlowEventRing _events;
    /// <summary>Smallest per-id array allocated (ids 0..15).</summary>
    private const int PerIdMinLength = 16;
    private TrafficCount[] _frontendTraffic = [];
    private TrafficCount[] _backendTraffic = [];

    /// <summary>How many frames ahead of its turn <see cref="ProcessBatch{TFrames}"/> parses a frame
    /// and starts loading its ct buckets: far enough for a miss to L3 or memory to complete
    /// during the frames in between, near enough that the lines are still cached when used.</summary>
    public const int StageDistance = 4;
    /// <summary>How many frames ahead of its turn a frame's ct entry lines start loading (its
    /// State lines, loading since <see cref="StageDistance"/>, say which).</summary>
    public const int LocateDistance = 2;
    private const int StageMask = 7; // ring of 8 ≥ StageDistance + 1 staged frames
    /// <summary>A frame staged ahead of its turn: the parse result, its ct probe and, for a new
    /// flow, what its staging already decided.</summary>
    private struct StagedFrame
    {
        public ParsedPacket Packet;
        public CtProbe Probe;
        public NewFlowPlan NewFlow;
        public DropReason Reason;
    }

    /// <summary>What a new flow needs decided before its ct insert (<see cref="PlanNewFlow"/>): its
    /// frontend, the client's identity, the backend and the reply key with its probe. A staged plan
    /// comes from the batch's snapshot, so <see cref="ProcessNewFlow"/> would plan the same; not
    /// <see cref="Known"/> when the staging did not plan.</summary>
    private struct NewFlowPlan
    {
        public FlowKey ReplyKey;
        public CtProbe ReplyProbe;
        /// <summary>-1: no frontend has the packet's destination.</summary>
        public int FrontendIndex;
        public uint ClientIdentity;
        /// <summary>0: the frontend's table is empty.</summary>
        public uint BackendId;
        public bool Known;
    }
    private readonly StagedFrame[] _staged = new StagedFrame[StageMask + 1];

    /// <summary>A backend's next hop as found in the next-hop table of <see cref="Generation"/>.</summary>
    private struct CachedHop
    {
        public int Generation;
        public NextHop.NextHop Hop;
    }

    // Next hop per backend id, so a packet reads one array slot instead of hashing the backend's
    // address into the next-hop table. Valid while its generation is current: the generation
    // moves whenever the snapshot (ids may name other addresses) or the next-hop table changes.
    private CachedHop[] _hops = [];
    private int _hopGeneration = 1;

    // Per-batch view, read once in BeginBatch.
    private ForwardingSnapshot _snapshot = null!;
    private NextHopTable _nextHops = null!;
    private long _nowMs;
    private uint _seedV4;
    private uint _seedV6;
    private FastModulus _lookupModulus;
    private int _policyRevision;

    public PacketPipeline(CtTable ct, int pendingCapacity = DefaultPendingCapacity, int wantedCapacity = DefaultWantedCapacity,
        int eventCapacity = FlowEventRing.DefaultCapacity)
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
        _events = new FlowEventRing(eventCapacity);
    }

    public PipelineCounters Counters { get; }

    /// <summary>This worker's recent drops and created flows (single writer: this pipeline; read
    /// from any thread with <see cref="FlowEventRing.ReadSince"/>).</summary>
    public FlowEventRing Events => _events;

    /// <summary>fp_flows keys of flows created since the last <see cref="ClearPending"/>: add them to the BPF map.</summary>
    public ReadOnlySpan<FlowReplyKey> PendingReplyKeys => _pendingReplyKeys.AsSpan(0, _pendingCount);

    /// <summary>fp_flows keys of flows this worker removed (backend gone): delete them from the BPF map first.</summary>
    public ReadOnlySpan<FlowReplyKey> RemovedReplyKeys => _removedReplyKeys.AsSpan(0, _removedCount);

    /// <summary>Next-hop addresses that were missing from the next-hop table (each once): ask the resolver.</summary>
    public ReadOnlySpan<NetAddress> WantedNeighbours => _wantedNeighbours.AsSpan(0, _wantedCount);

    /// <summary>
    /// How many more frames may be held (<see cref="Verdict.Hold"/>) rather than dropped for a
    /// missing neighbour; each hold takes one. The worker sets it to the room it has to keep such
    /// frames; 0 (the default) drops them as no_neighbour.
    /// </summary>
    public int NeighbourHoldBudget { get; set; }

    public void ClearPending()
    {
        _pendingCount = 0;
        _removedCount = 0;
        _wantedCount = 0;
    }

    /// <summary>Fixes the snapshot, next-hop table and clock for the frames of one batch. Must precede <see cref="Process"/>.</summary>
    public void BeginBatch(ForwardingSnapshot snapshot, NextHopTable nextHops, long nowMs)
    {
        // Nearly every batch sees the same snapshot and table as the last: only the clock is new.
        // (Storing the references every batch ran the GC's write barrier twice, which cost as
        // much as the rest of a one-frame batch's bookkeeping.)
        if (!ReferenceEquals(snapshot, _snapshot) || !ReferenceEquals(nextHops, _nextHops))
            UseSnapshot(snapshot, nextHops);
        _nowMs = nowMs;
    }

    /// <summary>A newly published snapshot or next-hop table: cache what the packets read from the
    /// snapshot (it is immutable), invalidate the per-backend next hops, grow the per-id arrays.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void UseSnapshot(ForwardingSnapshot snapshot, NextHopTable nextHops)
    {
        _snapshot = snapshot;
        _nextHops = nextHops;
        _seedV4 = snapshot.LookupSeedV4;
        _seedV6 = snapshot.LookupSeedV6;
        _lookupModulus = snapshot.LookupModulus;
        _policyRevision = snapshot.PolicyRevisionTag;
        _hopGeneration++;
        if (snapshot.BackendIdLimit > _hops.Length)
            _hops = new CachedHop[PerIdLength(snapshot.BackendIdLimit)];
        if (snapshot.FrontendIdLimit > _frontendTraffic.Length || snapshot.BackendIdLimit > _backendTraffic.Length)
            GrowTrafficCounters(snapshot);
    }

    /// <summary>The next hop toward a backend: from the per-backend cache, else from the next-hop table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryGetHop(uint backendId, in NetAddress address, out NextHop.NextHop hop)
    {
        CachedHop[] hops = _hops;
        if (backendId < (uint)hops.Length)
        {
            ref CachedHop cached = ref hops[backendId];
            if (cached.Generation == _hopGeneration)
            {
                hop = cached.Hop;
                return true;
            }
            return FillHop(ref cached, in address, out hop);
        }
        return _nextHops.TryGet(in address, out hop);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool FillHop(ref CachedHop cached, in NetAddress address, out NextHop.NextHop hop)
    {
        if (!_nextHops.TryGet(in address, out hop))
            return false; // not resolved yet: ask again next packet
        cached.Hop = hop;
        cached.Generation = _hopGeneration;
        return true;
    }

    /// <summary>A snapshot brought ids beyond the counter arrays: copy them into larger ones
    /// (<see cref="PerIdLength"/>). Arrays never shrink, so every id a ct entry can hold stays in range.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void GrowTrafficCounters(ForwardingSnapshot snapshot)
    {
        _frontendTraffic = Grown(_frontendTraffic, snapshot.FrontendIdLimit);
        _backendTraffic = Grown(_backendTraffic, snapshot.BackendIdLimit);
        Counters.Frontends = _frontendTraffic;
        Counters.Backends = _backendTraffic;

        static TrafficCount[] Grown(TrafficCount[] current, int needed)
        {
            if (needed <= current.Length)
                return current;
            var larger = new TrafficCount[PerIdLength(needed)];
            current.CopyTo(larger, 0);
            return larger;
        }
    }

    /// <summary>Length of a per-id array (traffic counters, next-hop cache) holding ids below
    /// <paramref name="idLimit"/>, with headroom so a growing mesh does not reallocate on every publish.</summary>
    private static int PerIdLength(int idLimit) => Math.Max(idLimit + idLimit / 2, PerIdMinLength);

    /// <summary>Counts one transmitted frame toward its flow's frontend and backend.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CountTraffic(uint frontendId, uint backendId, int frameLength)
    {
        TrafficCount[] frontends = _frontendTraffic;
        if (frontendId < (uint)frontends.Length)
        {
            ref TrafficCount f = ref frontends[frontendId];
            f.Packets++;
            f.Bytes += frameLength;
        }
        TrafficCount[] backends = _backendTraffic;
        if (backendId < (uint)backends.Length)
        {
            ref TrafficCount b = ref backends[backendId];
            b.Packets++;
            b.Bytes += frameLength;
        }
    }

    /// <summary>Processes one frame in place. On Forward, transmit <paramref name="frame"/> on the returned egress slot.</summary>
    /// <remarks>Deliberately one call per frame, and one more per established direction
    /// (<see cref="ForwardExisting"/>, <see cref="ForwardReply"/>): inlined all into one body,
    /// the JIT ran out of inlining budget and left small helpers (Span conversions, NetAddress
    /// equality, checksum offset) as calls, with the locals spilled to the stack. NoInlining, as
    /// <see cref="ProcessBatch{TFrames}"/>: compiled as its own method, under this class's
    /// SkipLocalsInit, instead of with its caller's locals zeroed on every call.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public PacketResult Process(Span<byte> frame, int ingressSlot)
    {
        Counters.Packets++;
        DropReason reason = PacketParser.Parse(frame, out ParsedPacket packet);
        if (reason != DropReason.None)
            return DropUnparsed(reason);
        CtProbe probe = _ct.Probe(in packet.Key);
        return Dispatch(frame, ref packet, in probe, ingressSlot, default);
    }

    /// <summary>
    /// A frame held for its neighbour (<see cref="Verdict.Hold"/>), processed again now that the
    /// next-hop table changed or its time is up: as <see cref="Process"/>, but not counted as a new
    /// frame. <paramref name="mayHoldAgain"/> false (its time is up) drops it as no_neighbour
    /// if the neighbour is still missing.
    /// </summary>
    public PacketResult ProcessHeld(Span<byte> frame, int ingressSlot, bool mayHoldAgain)
    {
        int budget = NeighbourHoldBudget;
        NeighbourHoldBudget = mayHoldAgain ? 1 : 0;
        DropReason reason = PacketParser.Parse(frame, out ParsedPacket packet);
        PacketResult result;
        if (reason != DropReason.None)
        {
            result = DropUnparsed(reason);
        }
        else
        {
            CtProbe probe = _ct.Probe(in packet.Key);
            result = Dispatch(frame, ref packet, in probe, ingressSlot, default);
        }
        NeighbourHoldBudget = budget;
        return result;
    }

    /// <summary>
    /// Processes a batch of frames in place, as <see cref="Process"/> would one by one, writing
    /// each frame's result to <paramref name="results"/>. Frames are staged ahead of their turn —
    /// parsed, hashed and their ct State lines prefetched <see cref="StageDistance"/> frames
    /// ahead, their entry lines (and a new flow's reply buckets) <see cref="LocateDistance"/>
    /// ahead, a new flow's reply entry line one ahead — so with a table larger than the caches
    /// the misses of several frames overlap instead of each frame waiting for its own. Staging
    /// ahead is safe: a frame's bytes only change in its own turn, the stages only prefetch, and
    /// the ct lookup itself still happens in turn (a flow an earlier frame of the batch created is found).
    /// </summary>
    /// <remarks>NoInlining: compiled as its own method, with its own inlining budget for the stages
    /// and the lookup; inlined into a caller, the JIT left helpers such as the entry prefetch as calls.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public void ProcessBatch<TFrames>(ref TFrames frames, int ingressSlot, Span<PacketResult> results)
        where TFrames : struct, IFrameBatch
    {
        int count = frames.Count;
        if (results.Length < count)
            throw new ArgumentException($"{results.Length} result slots for a batch of {count} frames", nameof(results));
        Counters.Packets += count;
        StagedFrame[] staged = _staged;
        int parsed = 0, located = 0; // frames staged so far by the first and the second stage
        for (int i = 0; i < count; i++)
        {
            // One call site per stage (the first turn catches up on frames 0..distance): each
            // inlined copy of the parser spends inlining budget the rest of the path needs.
            for (int ahead = Math.Min(i + StageDistance, count - 1); parsed <= ahead; parsed++)
                Stage(frames.Frame(parsed), ref staged[parsed & StageMask]);
            for (int ahead = Math.Min(i + LocateDistance, count - 1); located <= ahead; located++)
                StageEntries(ref staged[located & StageMask]);
            if (i + 1 < count)
                StageReplyEntry(ref staged[(i + 1) & StageMask]);
            ref StagedFrame current = ref staged[i & StageMask];
            results[i] = current.Reason == DropReason.None
                ? Dispatch(frames.Frame(i), ref current.Packet, in current.Probe, ingressSlot, in current.NewFlow)
                : DropUnparsed(current.Reason);
        }
    }

    /// <summary>Parses a frame ahead of its turn, hashes its key and starts loading its ct buckets.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Stage(Span<byte> frame, ref StagedFrame staged)
    {
        staged.Reason = PacketParser.Parse(frame, out staged.Packet);
        if (staged.Reason != DropReason.None)
            return;
        staged.Probe = _ct.Probe(in staged.Packet.Key);
        _ct.Prefetch(in staged.Probe);
    }

    /// <summary>
    /// Second stage, <see cref="LocateDistance"/> frames ahead, once the frame's State lines have
    /// had time to arrive: starts loading the entry line its lookup will read or, for a new flow,
    /// the one its insert will claim. A new flow is also planned here (for
    /// <see cref="ProcessNewFlow"/> to use) so that its reply key's State lines start loading too.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StageEntries(ref StagedFrame staged)
    {
        staged.NewFlow.Known = false;
        if (staged.Reason == DropReason.None && !_ct.PrefetchEntry(in staged.Probe))
            PlanNewFlow(in staged.Packet, out staged.NewFlow);
    }

    /// <summary>
    /// A new flow's frontend, client identity and backend — the Maglev slot of its frontend's table
    /// (policy-aware selection: the client identity's own table, which holds only backends it may
    /// reach) — and its reply key, whose buckets start loading now.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PlanNewFlow(in ParsedPacket packet, out NewFlowPlan plan)
    {
        ForwardingSnapshot snapshot = _snapshot;
        plan.Known = true;
        plan.BackendId = 0;
        plan.ClientIdentity = 0;
        Unsafe.SkipInit(out plan.ReplyKey);
        Unsafe.SkipInit(out plan.ReplyProbe);
        FrontendEntry? frontend = snapshot.FindFrontend(in packet.Destination, packet.DestinationPortRaw, packet.Protocol);
        if (frontend is null)
        {
            plan.FrontendIndex = -1;
            return;
        }
        plan.FrontendIndex = frontend.Index;
        plan.ClientIdentity = snapshot.IpCache.Lookup(packet.Source);
        uint[] table = snapshot.PolicyAwareSelection ? frontend.TableFor(plan.ClientIdentity) : frontend.MaglevTable;
        if (table.Length == 0)
            return;
        plan.BackendId = table[BackendSelector.Slot(in packet, table.Length, _seedV4, _seedV6, in _lookupModulus)];
        ref readonly BackendEntry backend = ref snapshot.Backend(plan.BackendId);
        FlowKey.Build(out plan.ReplyKey, in backend.Address, in packet.Source, backend.PortRaw, packet.SourcePortRaw, packet.Protocol);
        plan.ReplyProbe = _ct.Probe(in plan.ReplyKey);
        _ct.Prefetch(in plan.ReplyProbe);
    }

    /// <summary>Third stage, one frame ahead: a new flow's reply State lines have had time to
    /// arrive; start loading the entry line its reply entry will claim.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StageReplyEntry(ref StagedFrame staged)
    {
        if (staged.NewFlow.Known && staged.NewFlow.BackendId != 0)
            _ct.PrefetchEntry(in staged.NewFlow.ReplyProbe);
    }

    /// <summary>A parsed frame's way: ct hit → its direction's path; miss → new flow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PacketResult Dispatch(Span<byte> frame, ref ParsedPacket packet, in CtProbe probe, int ingressSlot, in NewFlowPlan staged)
    {
        ref readonly FlowKey key = ref packet.Key;
        if (_ct.TryLookup(in key, in probe, out CtFlow flow))
            return flow.IsReply ? ForwardReply(frame, ref packet, in flow) : ForwardExisting(frame, ref packet, in flow);
        return ProcessNewFlow(frame, ref packet, in key, in probe, ingressSlot, in staged);
    }

    /// <summary>client → VIP packet of a flow ct already pins to a backend.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private PacketResult ForwardExisting(Span<byte> frame, ref ParsedPacket packet, in CtFlow flow)
    {
        // Fields read in place; Touch re-checks the entry's State after them (seqlock).
        ref CtEntry entry = ref _ct.EntryAt(flow.Index);
        uint backendId = entry.BackendId;
        ref readonly BackendEntry backend = ref _snapshot.Backend(backendId);
        ushort check = entry.BackendCheck;
        uint frontendId = entry.FrontendId;
        int policyRevision = Volatile.Read(ref entry.PolicyRevision);
        // The flow keeps its backend whatever the Maglev table says now — unless the backend is gone.
        if (backend.Status != BackendStatus.Active || backend.Check != check)
            return StopFlow(in flow, in packet, DropReason.BackendRemoved, default);
        if (policyRevision != _policyRevision)
        {
            PolicyOutcome outcome = default;
            if (!RecheckPolicy(in flow, in packet.Source, backendId, packet.Protocol, ref outcome))
                return StopFlow(in flow, in packet, DropReason.PolicyDenied, in outcome);
        }
        if (!_ct.TouchForward(in flow, packet.Protocol, packet.TcpFlags, _nowMs))
            return DropFlowPacket(DropReason.NoFlow, in packet, in flow);
        if (!TryGetHop(backendId, in backend.Address, out NextHop.NextHop hop))
            return MissingNeighbour(in backend.Address, in packet, in flow);

        NatRewriter.RewriteDestination(frame, ref packet, in backend.Address, backend.PortRaw);
        NatRewriter.RewriteMacs(frame, hop.Source, hop.Destination);
        CountTraffic(frontendId, backendId, frame.Length);
        Counters.Forwarded++;
        return PacketResult.Forward(hop.DeviceSlot, frame.Length);
    }

    /// <summary>backend → client packet: source back to VIP:port, out the way the flow came in.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private PacketResult ForwardReply(Span<byte> frame, ref ParsedPacket packet, in CtFlow flow)
    {
        // The reply entry holds the way back; the forward entry (read anyway to refresh the flow)
        // the VIP, backend and policy revision. Touch validates both State words after these reads.
        ref CtEntry reply = ref _ct.EntryAt(flow.Index);
        ref CtEntry owner = ref _ct.EntryAt(flow.PartnerIndex);
        ulong clientMacAndSlot = reply.ClientMacAndSlot;
        ulong localMac = reply.LocalMac;
        uint backendId = owner.BackendId;
        uint frontendId = owner.FrontendId;
        NetAddress vip = owner.Destination;
        ushort vipPortRaw = owner.DestinationPortRaw;
        int policyRevision = Volatile.Read(ref owner.PolicyRevision);
        if (!_snapshot.IsBackendLive(backendId, in packet.Source, packet.SourcePortRaw))
            return StopFlow(in flow, in packet, DropReason.BackendRemoved, default);
        if (policyRevision != _policyRevision)
        {
            PolicyOutcome outcome = default;
            if (!RecheckPolicy(in flow, in packet.Destination, backendId, packet.Protocol, ref outcome))
                return StopFlow(in flow, in packet, DropReason.PolicyDenied, in outcome);
        }
        if (!_ct.TouchReply(in flow, packet.Protocol, packet.TcpFlags, _nowMs))
            return DropFlowPacket(DropReason.NoFlow, in packet, in flow);

        NatRewriter.RewriteSource(frame, ref packet, in vip, vipPortRaw);
        NatRewriter.RewriteMacs(frame, CtEntry.MacOf(localMac), CtEntry.MacOf(clientMacAndSlot));
        CountTraffic(frontendId, backendId, frame.Length);
        Counters.Replies++;
        Counters.Forwarded++;
        return PacketResult.Forward(CtEntry.SlotOf(clientMacAndSlot), frame.Length);
    }

    /// <summary>
    /// The snapshot's policy revision moved since this flow was last allowed: decide again with
    /// today's identities and rules. Allowed → cache the new revision (both ct entries); denied →
    /// the caller stops the flow. Taken once per flow per revision, so it lives out of line.
    /// <paramref name="backendId"/> names a live backend of this snapshot (the caller checked).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool RecheckPolicy(in CtFlow flow, in NetAddress client, uint backendId, byte protocol, ref PolicyOutcome outcome)
    {
        Counters.PolicyRechecks++;
        ForwardingSnapshot snapshot = _snapshot;
        ref readonly BackendEntry backend = ref snapshot.Backend(backendId);
        outcome.ClientIdentity = snapshot.IpCache.Lookup(client);
        outcome.BackendIdentity = backend.Identity;
        if (!PolicyCheck.IsAllowed(snapshot.Policy, backend.PortRaw, protocol, ref outcome))
            return false;
        _ct.SetPolicyRevision(in flow, _policyRevision);
        return true;
    }

    /// <summary>First packet of a flow: pick a backend, decide the policy verdict, create ct state, DNAT.
    /// A <see cref="NewFlowPlan.Known"/> <paramref name="staged"/> plan (the batch's staging) is used as is.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private PacketResult ProcessNewFlow(Span<byte> frame, ref ParsedPacket packet, in FlowKey key, in CtProbe probe, int ingressSlot,
        in NewFlowPlan staged)
    {
        ForwardingSnapshot snapshot = _snapshot;
        scoped ref readonly NewFlowPlan plan = ref staged;
        NewFlowPlan own;
        if (!staged.Known)
        {
            PlanNewFlow(in packet, out own);
            plan = ref own;
        }
        if (plan.FrontendIndex < 0)
            return DropNewFlow(DropReason.UnknownServicePort, in packet, null, 0, default);
        FrontendEntry frontend = snapshot.FrontendAt(plan.FrontendIndex);
        PolicyOutcome outcome = default;
        outcome.ClientIdentity = plan.ClientIdentity;
        // The reply key's buckets load (since the staging, or since the plan) while the policy and
        // next-hop decisions below are made.
        uint backendId = plan.BackendId;
        ref readonly BackendEntry backend = ref snapshot.Backend(backendId); // id 0 → Status None
        if (backend.Status != BackendStatus.Active)
            return DropNewFlow(DropReason.NoBackend, in packet, frontend, backendId, in outcome);
        outcome.BackendIdentity = backend.Identity;
        if (!PolicyCheck.IsAllowed(snapshot.Policy, backend.PortRaw, packet.Protocol, ref outcome))
            return DropNewFlow(DropReason.PolicyDenied, in packet, frontend, backendId, in outcome);
        if (_pendingCount == _pendingReplyKeys.Length)
            return DropNewFlow(DropReason.FlowBacklogFull, in packet, frontend, backendId, in outcome);
        if (!TryGetHop(backendId, in backend.Address, out NextHop.NextHop hop))
            return NewFlowWithoutNeighbour(in packet, frontend, backendId, in outcome);

        var newFlow = new CtNewFlow(backendId, backend.Check, ingressSlot,
            clientMac: MacAddress.FromBytes(frame.Slice(6, 6)), localMac: MacAddress.FromBytes(frame.Slice(0, 6)),
            policyRevision: _policyRevision, frontendId: frontend.Id);
        CtCreateResult created = _ct.TryCreateFlow(in key, in probe, in plan.ReplyKey, in plan.ReplyProbe, in newFlow, packet.TcpFlags, _nowMs);
        if (created != CtCreateResult.Created)
            return DropNewFlow(created == CtCreateResult.ReplyTupleInUse ? DropReason.ReplyTupleInUse : DropReason.CtFull,
                in packet, frontend, backendId, in outcome);
        _pendingReplyKeys[_pendingCount++] = FlowReplyKey.From(in plan.ReplyKey);
        Counters.NewFlows++;
        RecordEvent(FlowEventKind.FlowCreated, DropReason.None, in packet, frontend.Index, backendId,
            in backend.Address, backend.PortRaw, in outcome);

        NatRewriter.RewriteDestination(frame, ref packet, in backend.Address, backend.PortRaw);
        NatRewriter.RewriteMacs(frame, hop.Source, hop.Destination);
        CountTraffic(frontend.Id, backendId, frame.Length);
        Counters.Forwarded++;
        return PacketResult.Forward(hop.DeviceSlot, frame.Length);
    }

    /// <summary>The flow must stop (its backend left the snapshot, or policy now forbids it):
    /// drop, and delete the flow so the sweeper need not wait for its timeout. If the removal
    /// buffer is full the flow stays for now; its next packet or the sweeper removes it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private PacketResult StopFlow(in CtFlow flow, in ParsedPacket packet, DropReason reason, in PolicyOutcome outcome)
    {
        if (!_ct.IsCurrent(in flow))
            return DropFlowPacket(DropReason.NoFlow, in packet, in flow); // what we read in place was another flow's
        if (_removedCount < _removedReplyKeys.Length && _ct.DeleteFlow(in flow, out FlowReplyKey replyKey))
        {
            int pending = PendingIndexOf(in replyKey);
            if (pending >= 0)
                _pendingReplyKeys[pending] = _pendingReplyKeys[--_pendingCount]; // created this batch: never reached the map
            else
                _removedReplyKeys[_removedCount++] = replyKey;
        }
        return DropFlowPacket(reason, in packet, in flow, in outcome);
    }

    private int PendingIndexOf(in FlowReplyKey key)
    {
        for (int i = 0; i < _pendingCount; i++)
            if (_pendingReplyKeys[i].Equals(key))
                return i;
        return -1;
    }

    /// <summary>A new flow's backend has no resolved next hop yet: ask for it, and hold the frame
    /// (nothing created yet, the frame untouched) while there is room, else drop it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private PacketResult NewFlowWithoutNeighbour(in ParsedPacket packet, FrontendEntry frontend, uint backendId, in PolicyOutcome outcome)
    {
        return HoldForNeighbour(in _snapshot.Backend(backendId).Address)
            ? PacketResult.Hold()
            : DropNewFlow(DropReason.NoNeighbour, in packet, frontend, backendId, in outcome);
    }

    /// <summary>An existing flow's backend lost its next hop: as <see cref="NewFlowWithoutNeighbour"/>
    /// (the frame is still untouched: the rewrite comes after the next hop).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private PacketResult MissingNeighbour(in NetAddress address, in ParsedPacket packet, in CtFlow flow)
    {
        return HoldForNeighbour(in address)
            ? PacketResult.Hold()
            : DropFlowPacket(DropReason.NoNeighbour, in packet, in flow);
    }

    /// <summary>Asks for <paramref name="address"/>'s neighbour and, while the hold budget lasts,
    /// takes one place from it: true = hold the frame, false = drop it as no_neighbour.</summary>
    private bool HoldForNeighbour(in NetAddress address)
    {
        NoteWantedNeighbour(in address);
        if (NeighbourHoldBudget == 0)
            return false;
        NeighbourHoldBudget--;
        return true;
    }

    private void NoteWantedNeighbour(in NetAddress address)
    {
        bool known = false;
        for (int i = 0; i < _wantedCount; i++)
            known |= _wantedNeighbours[i] == address;
        if (!known && _wantedCount < _wantedNeighbours.Length)
            _wantedNeighbours[_wantedCount++] = address;
    }

    // ── Drops: every one is counted per reason and written to the event ring. ──

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PacketResult Count(DropReason reason)
    {
        _drops[(int)reason]++;
        return PacketResult.Drop(reason);
    }

    /// <summary>A frame the parser refused: no trustworthy addresses, so the event has none.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private PacketResult DropUnparsed(DropReason reason)
    {
        ref FlowEvent e = ref _events.Reserve();
        e.TimeMs = _nowMs;
        e.Source = e.Destination = e.Backend = default;
        e.SourcePort = e.DestinationPort = e.BackendPort = 0;
        e.Protocol = 0;
        e.Kind = FlowEventKind.Drop;
        e.DropReason = reason;
        e.PolicyDirection = PolicyDirection.None;
        e.SourceIdentity = e.DestinationIdentity = 0;
        e.FrontendIndex = -1;
        e.BackendId = 0;
        _events.Publish();
        return Count(reason);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private PacketResult DropNewFlow(DropReason reason, in ParsedPacket packet, FrontendEntry? frontend, uint backendId, in PolicyOutcome outcome)
    {
        ref readonly BackendEntry backend = ref _snapshot.Backend(backendId);
        RecordEvent(FlowEventKind.Drop, reason, in packet, frontend?.Index ?? -1, backendId, in backend.Address, backend.PortRaw, in outcome);
        CountPolicyDirection(reason, in outcome);
        return Count(reason);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private PacketResult DropFlowPacket(DropReason reason, in ParsedPacket packet, in CtFlow flow) =>
        DropFlowPacket(reason, in packet, in flow, default);

    /// <summary>A packet of an existing flow: the backend is the flow's (forward) or the packet's source (reply).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private PacketResult DropFlowPacket(DropReason reason, in ParsedPacket packet, in CtFlow flow, in PolicyOutcome outcome)
    {
        CtFlowDetails details = _ct.Details(in flow);
        if (flow.IsReply)
            RecordEvent(FlowEventKind.Drop, reason, in packet, -1, details.BackendId, in packet.Source, packet.SourcePortRaw, in outcome);
        else
            RecordEvent(FlowEventKind.Drop, reason, in packet, -1, details.BackendId, details.NatAddress, details.NatPortRaw, in outcome);
        CountPolicyDirection(reason, in outcome);
        return Count(reason);
    }

    private void CountPolicyDirection(DropReason reason, in PolicyOutcome outcome)
    {
        if (reason != DropReason.PolicyDenied)
            return;
        if (outcome.Denied == PolicyDirection.Ingress)
            Counters.PolicyDeniedIngress++;
        else
            Counters.PolicyDeniedEgress++;
    }

    /// <remarks>Inlined: a new flow records one on its common path, where a call kept the caller's
    /// live values on the stack across it (about 2 % of a new flow against the C reference).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RecordEvent(FlowEventKind kind, DropReason reason, in ParsedPacket packet, int frontendIndex, uint backendId,
        in NetAddress backend, ushort backendPortRaw, in PolicyOutcome outcome)
    {
        ref FlowEvent e = ref _events.Reserve();
        e.TimeMs = _nowMs;
        e.Source = packet.Source;
        e.Destination = packet.Destination;
        e.Backend = backend;
        e.SourcePort = BinaryPrimitives.ReverseEndianness(packet.SourcePortRaw);
        e.DestinationPort = BinaryPrimitives.ReverseEndianness(packet.DestinationPortRaw);
        e.BackendPort = BinaryPrimitives.ReverseEndianness(backendPortRaw);
        e.Protocol = packet.Protocol;
        e.Kind = kind;
        e.DropReason = reason;
        e.PolicyDirection = outcome.Denied;
        e.SourceIdentity = outcome.ClientIdentity;
        e.DestinationIdentity = outcome.BackendIdentity;
        e.FrontendIndex = frontendIndex;
        e.BackendId = backendId;
        _events.Publish();
    }
}

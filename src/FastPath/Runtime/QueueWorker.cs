using System.Runtime.CompilerServices;
using FastPath.Conntrack;
using FastPath.Native;
using FastPath.NextHop;
using FastPath.Pipeline;
using FastPath.Xsk;

namespace FastPath.Runtime;

/// <summary>
/// One thread per RX queue index: it owns the AF_XDP sockets of that queue on every attached
/// device, a share of the UMEM frames, and a <see cref="PacketPipeline"/>. Each loop turn is one
/// batch:
/// <code>
///   held frames: once the next-hop table changed (or their time is up) → pipeline again → stage
///   RX (every device) → pipeline → stage per egress device (or hold, for a missing neighbour)
///   fp_flows: delete removed, add new reply tuples (one syscall each, before TX, so a reply can
///             never beat its ct entry into the XDP program)
///   TX (reserve/submit per device, kick only when the ring asks) → completions → fill refill
///   idle: poll() the RX sockets
/// </code>
/// No P/Invoke per packet, no allocation, no locks: the snapshot and next-hop table are read once
/// per batch.
///
/// A frame whose next hop is not resolved yet is held (up to <see cref="NeighbourWaitCapacity"/>
/// frames, each at most <see cref="NeighbourHoldMs"/>) while the resolver asks the kernel, and
/// processed again when the resolver publishes a new table — so a flow's first SYN to a pod
/// FastPath has not talked to yet goes out a few milliseconds late rather than a retransmission
/// (one second) later. While frames are held the idle poll is short (<see cref="WaitingPollMs"/>).
///
/// The batch methods (and <see cref="PacketPipeline"/>'s per-frame methods) are compiled fully
/// optimised on first use (AggressiveOptimization) instead of going through tiered compilation:
/// otherwise the first seconds of traffic run tier-0 code and then the JIT recompiles the whole
/// inlined packet path in the background — 20–50 ms of CPU per second for a few seconds after
/// traffic starts, which the perf harness saw as the agent's "idle" cost.
/// </summary>
public sealed class QueueWorker : IDisposable
{
    /// <summary>Descriptors taken from one RX ring per batch (libxdp's samples use 64).</summary>
    public const int BatchSize = 64;
    /// <summary>How long an idle worker sleeps in poll() before re-reading its rings.</summary>
    private const int IdlePollMs = 100;
    /// <summary>Frames a worker may hold for missing neighbours at once (beyond it they are dropped).</summary>
    public const int NeighbourWaitCapacity = 64;
    /// <summary>How long a frame may wait for its neighbour: the kernel gives up on an unanswered
    /// neighbour after about as long (3 solicitations a second apart) and drops what it queued.</summary>
    public const int NeighbourHoldMs = 3000;
    /// <summary>The idle poll while frames are held, so a newly resolved neighbour is seen soon.</summary>
    private const int WaitingPollMs = 2;

    private readonly int _queue;
    private readonly XskSocket?[] _sockets;
    private readonly int[] _pollFds;
    private readonly Umem _umem;
    private readonly FramePool _free;
    private readonly PacketPipeline _pipeline;
    private readonly SnapshotPublisher _snapshots;
    private readonly NeighbourResolver _resolver;
    private readonly BpfMap _flows;
    private readonly FlowMapValue[] _flowValues;
    private readonly ulong[][] _txAddresses;
    private readonly uint[][] _txLengths;
    private readonly int[] _txCounts;
    private readonly PacketResult[] _results = new PacketResult[BatchSize];
    private readonly NeighbourWaitQueue _waiting = new(NeighbourWaitCapacity);
    // The next-hop table the held frames were last tried against.
    private NextHopTable? _waitingTriedWith;
    private long _nowMs;
    private readonly int _fillTarget;
    private Thread? _thread;
    private volatile bool _stopping;
    private Exception? _failure;

    /// <param name="sockets">Indexed by device slot; null where a device has no such queue.</param>
    /// <param name="firstFrame">First UMEM frame of this worker's share.</param>
    public QueueWorker(int queue, XskSocket?[] sockets, Umem umem, int firstFrame, int frameCount,
        CtTable ct, SnapshotPublisher snapshots, NeighbourResolver resolver, BpfMap flows)
    {
        _queue = queue;
        _sockets = sockets;
        _umem = umem;
        _snapshots = snapshots;
        _resolver = resolver;
        _flows = flows;
        _pipeline = new PacketPipeline(ct);
        _flowValues = new FlowMapValue[PacketPipeline.DefaultPendingCapacity];
        _pollFds = sockets.Where(s => s is not null).Select(s => s!.Fd).ToArray();

        _free = new FramePool(frameCount, umem.FrameSize);
        for (int f = firstFrame; f < firstFrame + frameCount; f++)
            _free.Push(umem.FrameAddress(f));

        // A batch can route every frame it read, and every frame it released, to one device: size staging for that.
        int stagingCapacity = BatchSize * sockets.Length + NeighbourWaitCapacity;
        _txAddresses = new ulong[sockets.Length][];
        _txLengths = new uint[sockets.Length][];
        _txCounts = new int[sockets.Length];
        for (int slot = 0; slot < sockets.Length; slot++)
        {
            _txAddresses[slot] = new ulong[stagingCapacity];
            _txLengths[slot] = new uint[stagingCapacity];
        }
        // Keep each fill ring at most half full so frames remain for TX staging and completions.
        int socketCount = Math.Max(1, _pollFds.Length);
        _fillTarget = Math.Min(frameCount / (2 * socketCount), (int)(sockets.First(s => s is not null)!.Fill.Size));
    }

    public int Queue => _queue;
    public PipelineCounters PipelineCounters => _pipeline.Counters;
    /// <summary>This worker's recent flow and drop events (for observe); read off the hot path.</summary>
    public Observe.FlowEventRing Events => _pipeline.Events;
    public WorkerCounters Counters { get; } = new();

    /// <summary>The exception that stopped the worker, if any (set-up errors are thrown at start instead).</summary>
    public Exception? Failure => _failure;

    public void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = $"fp-worker-q{_queue}" };
        _thread.Start();
    }

    private void Run()
    {
        try
        {
            for (int slot = 0; slot < _sockets.Length; slot++)
                if (_sockets[slot] is { } socket)
                    Refill(socket);
            while (!_stopping)
                RunBatch();
        }
        catch (Exception e)
        {
            // A syscall failure that is not transient: record it for the agent to report and stop.
            _failure = e;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunBatch()
    {
        NextHopTable nextHops = _resolver.Current;
        _nowMs = Environment.TickCount64;
        _pipeline.BeginBatch(_snapshots.Current, nextHops, _nowMs);
        if (_waiting.Count > 0)
            ReleaseWaiting(nextHops);
        // Whatever is held from here on has been tried against this table.
        _waitingTriedWith = nextHops;
        _pipeline.NeighbourHoldBudget = _waiting.Free;
        uint received = 0;
        for (int slot = 0; slot < _sockets.Length; slot++)
        {
            if (_sockets[slot] is { } socket)
                received += Receive(socket, slot);
        }

        FlushFlowMap();
        bool transmitted = Transmit();
        for (int slot = 0; slot < _sockets.Length; slot++)
        {
            if (_sockets[slot] is { } socket)
            {
                Complete(socket);
                Refill(socket);
            }
        }

        if (received == 0 && !transmitted)
        {
            Counters.Polls++;
            XskSocket.Poll(_pollFds, _waiting.Count > 0 ? WaitingPollMs : IdlePollMs);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private uint Receive(XskSocket socket, int slot)
    {
        var rx = socket.Rx;
        uint n = rx.Peek(BatchSize, out uint index);
        if (n == 0)
            return 0;
        var frames = new RxFrames(rx, _umem, index, (int)n);
        _pipeline.ProcessBatch(ref frames, slot, _results);
        for (uint i = 0; i < n; i++)
        {
            ref var desc = ref rx.RxTxDesc(index + i);
            PacketResult result = _results[i];
            if (TryStage(result, desc.Addr))
                continue;
            if (result.Verdict == Verdict.Hold)
            {
                // Within the budget the pipeline was given, so there is room.
                _waiting.Enqueue(new HeldFrame(desc.Addr, desc.Len, slot, _nowMs + NeighbourHoldMs));
                Counters.NeighbourHeld++;
            }
            else
            {
                _free.Push(desc.Addr);
            }
        }
        rx.Release(n);
        Counters.RxPackets += n;
        return n;
    }

    /// <summary>
    /// Processes the held frames again once the resolver has published a new next-hop table (one
    /// that may hold their neighbours), and drops those whose time is up (no_neighbour, counted and
    /// recorded by the pipeline). Frames still unresolved go back in order, keeping their deadline.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReleaseWaiting(NextHopTable nextHops)
    {
        bool newTable = !ReferenceEquals(nextHops, _waitingTriedWith);
        if (!newTable && _waiting.OldestDeadlineMs > _nowMs)
            return;
        for (int i = _waiting.Count; i > 0; i--)
        {
            HeldFrame held = _waiting.Dequeue();
            bool expired = held.DeadlineMs <= _nowMs;
            if (!newTable && !expired)
            {
                _waiting.Enqueue(held);
                continue;
            }
            PacketResult result = _pipeline.ProcessHeld(_umem.Frame(held.Address, (int)held.Length), held.IngressSlot, mayHoldAgain: !expired);
            if (TryStage(result, held.Address))
            {
                Counters.NeighbourReleased++;
            }
            else if (result.Verdict == Verdict.Hold)
            {
                _waiting.Enqueue(held);
            }
            else
            {
                _free.Push(held.Address);
            }
        }
    }

    /// <summary>A forwarded frame is staged for TX on its egress device (false for any other
    /// verdict, or an egress slot without a socket on this queue).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryStage(PacketResult result, ulong address)
    {
        if (result.Verdict != Verdict.Forward || _sockets[result.EgressSlot] is null)
            return false;
        int egress = result.EgressSlot;
        int staged = _txCounts[egress]++;
        _txAddresses[egress][staged] = address;
        _txLengths[egress][staged] = (uint)result.Length;
        return true;
    }

    /// <summary>The descriptors one RX Peek returned, as frames in the UMEM.</summary>
    private readonly struct RxFrames(XskRing rx, Umem umem, uint first, int count) : IFrameBatch
    {
        public int Count => count;

        public Span<byte> Frame(int index)
        {
            ref var desc = ref rx.RxTxDesc(first + (uint)index);
            return umem.Frame(desc.Addr, (int)desc.Len);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FlushFlowMap()
    {
        var removed = _pipeline.RemovedReplyKeys;
        if (removed.Length > 0)
            _flows.DeleteBatch(removed);
        var added = _pipeline.PendingReplyKeys;
        if (added.Length > 0 && _flows.UpdateBatch(added, _flowValues.AsSpan(0, added.Length)) != added.Length)
            Counters.FlowMapUpdateFailures++;
        foreach (var wanted in _pipeline.WantedNeighbours)
            _resolver.Want(wanted);
        _pipeline.ClearPending();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool Transmit()
    {
        bool any = false;
        for (int slot = 0; slot < _sockets.Length; slot++)
        {
            int count = _txCounts[slot];
            if (count == 0)
                continue;
            var socket = _sockets[slot]!;
            var tx = socket.Tx;
            uint reserved = tx.Reserve((uint)count, out uint index);
            var addresses = _txAddresses[slot];
            var lengths = _txLengths[slot];
            for (uint i = 0; i < reserved; i++)
            {
                ref var desc = ref tx.RxTxDesc(index + i);
                desc.Addr = addresses[i];
                desc.Len = lengths[i];
                desc.Options = 0;
            }
            if (reserved > 0)
            {
                tx.Submit(reserved);
                // Copy mode transmits only inside sendto(); with need-wakeup the flag says when.
                if (tx.NeedsWakeup)
                {
                    socket.KickTx();
                    Counters.TxKicks++;
                }
                Counters.TxPackets += reserved;
                any = true;
            }
            for (int i = (int)reserved; i < count; i++)
            {
                _free.Push(addresses[i]);
                Counters.TxRingFull++;
            }
            _txCounts[slot] = 0;
        }
        return any;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Complete(XskSocket socket)
    {
        var completion = socket.Completion;
        uint n = completion.Peek(completion.Size, out uint index);
        for (uint i = 0; i < n; i++)
            _free.Push(completion.FillCompAddr(index + i));
        if (n > 0)
            completion.Release(n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Refill(XskSocket socket)
    {
        var fill = socket.Fill;
        uint held = fill.Size - FreeSlots(fill); // frames the kernel holds for RX on this socket
        if (held >= (uint)_fillTarget || _free.Count == 0)
            return;
        uint want = Math.Min((uint)_fillTarget - held, (uint)_free.Count);
        uint reserved = fill.Reserve(want, out uint index);
        for (uint i = 0; i < reserved; i++)
            fill.FillCompAddr(index + i) = _free.Pop();
        if (reserved == 0)
            return;
        fill.Submit(reserved);
        if (fill.NeedsWakeup)
        {
            socket.WakeUp();
            Counters.FillWakeups++;
        }
    }

    private static uint FreeSlots(XskRing ring) => ring.Reserve(ring.Size, out _);

    public void Stop()
    {
        _stopping = true;
        _thread?.Join(TimeSpan.FromSeconds(5));
    }

    public void Dispose() => Stop();
}

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
///   RX (every device) → pipeline → stage per egress device
///   fp_flows: delete removed, add new reply tuples (one syscall each, before TX, so a reply can
///             never beat its ct entry into the XDP program)
///   TX (reserve/submit per device, kick only when the ring asks) → completions → fill refill
///   idle: poll() the RX sockets
/// </code>
/// No P/Invoke per packet, no allocation, no locks: the snapshot and next-hop table are read once
/// per batch.
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

        // A batch can route every frame it read to one device: size staging for that.
        int stagingCapacity = BatchSize * sockets.Length;
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
        _pipeline.BeginBatch(_snapshots.Current, _resolver.Current, Environment.TickCount64);
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
            XskSocket.Poll(_pollFds, IdlePollMs);
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
            if (result.Verdict == Verdict.Forward && _sockets[result.EgressSlot] is not null)
            {
                int egress = result.EgressSlot;
                int staged = _txCounts[egress]++;
                _txAddresses[egress][staged] = desc.Addr;
                _txLengths[egress][staged] = (uint)result.Length;
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

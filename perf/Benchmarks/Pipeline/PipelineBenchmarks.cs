using BenchmarkDotNet.Attributes;
using FastPath.Maglev;
using FastPath.Packets;
using FastPath.Pipeline;
using FastPath.Policy;
using FastPath.Snapshot;
using FastPath.Tests.Fixtures;
using static FastPath.Tests.Fixtures.PipelineRig;

namespace FastPath.Benchmarks.Pipeline;

/// <summary>
/// Per-packet cost of the whole managed fast path — parse → ct → (Maglev + ct insert for a new
/// flow) → DNAT / reverse NAT with incremental checksums → MAC rewrite — over the same frame
/// fixtures the unit tests use (tests/FastPath.Tests/Fixtures). No kernel: this is the work a
/// worker does per descriptor between RX peek and TX reserve. Each operation first copies the
/// template frame into the work buffer (as if it had just arrived in UMEM), because the rewrite
/// is in place; that copy (~60–80 bytes, a span memmove) is part of every figure, and
/// <see cref="HarnessOnly"/> measures it (with BeginBatch) alone.
///
/// <see cref="Policy"/> = true runs the same cases with policy enforced (SPEC §7): clients and
/// backends have identities in the ipcache (the clients by a /24 prefix, so the lookup walks the
/// longest-prefix path), the client identity is in egress default deny and every backend in
/// ingress default deny, with rules allowing this traffic. A new flow then pays two ipcache
/// lookups and two verdict lookups; an established flow only compares its cached policy revision.
/// </summary>
[MemoryDiagnoser]
public partial class PipelineBenchmarks
{
    internal const int FlowsPerInvoke = 4096;
    /// <summary>Frames per worker batch (QueueWorker's ring batch): BeginBatch once, then each frame.</summary>
    private const int BatchFrames = 64;
    internal const int InvocationsPerIteration = 16;

    private PipelineRig _rig = null!;
    private ForwardingSnapshot _snapshot = null!;
    private byte[] _established = null!;
    private byte[] _reply = null!;
    private byte[][] _newFlows = null!;
    private byte[][] _batchForward = null!;
    private byte[][] _batchReply = null!;
    private int _nextNewFlow;
    /// <summary>Established flows of the spread case, a power of two (the case cycles through them).</summary>
    private const int SpreadFlows = 65536;
    private byte[][] _spreadForward = null!;
    private int _spreadNext;
    private readonly byte[] _work = new byte[256];
    private readonly BatchBuffers _batch = new(BatchFrames);
    private readonly PacketResult[] _results = new PacketResult[BatchFrames];

    /// <summary>Batch cases call <see cref="PacketPipeline.Process"/> frame by frame instead of
    /// <see cref="PacketPipeline.ProcessBatch{TFrames}"/> (<c>--cpu-loop batch-vs-frame</c> compares the two in one process).</summary>
    public bool PerFrame { get; set; }

    /// <summary>The ct as an agent with one worker has it (<see cref="FastPath.Conntrack.CtTable.SingleInserter"/>: slots
    /// claimed without a CAS); otherwise as with several workers. See <see cref="OneWorkerPipelineBenchmarks"/>.</summary>
    public bool SingleInserter { get; init; }

    /// <summary>Policy enforced (identities + rules) or not.</summary>
    [Params(false, true)]
    public bool Policy { get; set; }

    private const uint ClientIdentity = (1u << 16) + 10;
    private const uint BackendIdentity = (1u << 16) + 11;

    /// <summary>Maglev table over 100 backends at the default size, as a real frontend has.</summary>
    private static ForwardingSnapshot BuildBenchmarkSnapshot(bool policy)
    {
        var parameters = MaglevParameters.Default;
        var builder = new ForwardingSnapshotBuilder(parameters);
        var backends = new MaglevBackend[100];
        for (int i = 0; i < backends.Length; i++)
        {
            var address = Addressing.NetAddress.Parse($"10.244.{1 + i / 200}.{1 + i % 200}");
            backends[i] = new MaglevBackend((uint)(i + 1), address, 8080, Addressing.L4Protocol.Tcp);
            builder.AddBackend((uint)(i + 1), address, 8080, Addressing.L4Protocol.Tcp, clusterId: 1);
        }
        builder.AddFrontend(Vip4, 80, Addressing.L4Protocol.Tcp, "default", "web", MaglevTableBuilder.Build(backends, parameters));
        if (policy)
        {
            var entries = new List<IpCacheEntry>
            {
                new(Addressing.NetAddress.Parse("10.0.0.1"), 32, ClientIdentity),
                new(Addressing.NetAddress.Parse("10.244.200.0"), 24, ClientIdentity),
            };
            foreach (var b in backends)
                entries.Add(new IpCacheEntry(b.Address, 32, BackendIdentity));
            var rules = new PolicyVerdictsBuilder()
                .Allow(ClientIdentity, Direction.Egress, Addressing.L4Protocol.Tcp, 8080, 0, IdentitySet.Create([BackendIdentity]))
                .Allow(BackendIdentity, Direction.Ingress, Addressing.L4Protocol.Tcp, 8080, 0, IdentitySet.Create([ClientIdentity]))
                .Build(1);
            builder.SetPolicy(rules, new IpCache(entries.ToArray()), policyRevision: 1);
        }
        return builder.Build(1);
    }

    /// <summary>A pipeline over a ct of <paramref name="ctCapacity"/> entries that knows the next hop of every backend.</summary>
    private PipelineRig NewRig(int ctCapacity)
    {
        var rig = new PipelineRig(ctCapacity, SingleInserter);
        var hops = new Dictionary<Addressing.NetAddress, NextHop.NextHop>();
        foreach (var frontend in _snapshot.Frontends)
            foreach (uint id in frontend.Table)
                hops[_snapshot.Backend(id).Address] = new NextHop.NextHop(BackendSlot, OurBackendSideMac, Backend1Mac);
        rig.NextHops = new NextHop.NextHopTable(hops);
        return rig;
    }

    [GlobalSetup]
    public void Setup()
    {
        _snapshot = BuildBenchmarkSnapshot(Policy);
        _rig = NewRig(ctCapacity: 1 << 18);
        _cachedRig = NewRig(CachedTableCapacity);

        _newFlows = new byte[FlowsPerInvoke * InvocationsPerIteration][];
        for (int i = 0; i < _newFlows.Length; i++)
            _newFlows[i] = ToVip(1024 + i % 60000, TcpFlags.Syn, client: $"10.244.200.{1 + i / 60000}").Build();
        // A benchmark of drops would be meaningless: check every case forwards before measuring.
        // New flows first: their check clears the table, which must then hold the established flows.
        FreshTable();
        if (NewFlow() != FlowsPerInvoke)
            throw new InvalidOperationException("not every new-flow fixture is forwarded");
        PlanNewFlowParts();
        FreshCachedTable();
        if (NewFlowCachedTable() != CachedTableFlows)
            throw new InvalidOperationException("not every new-flow fixture is forwarded by the cache-sized ct");
        if (NewFlowParseAndMiss() != FlowsPerInvoke)
            throw new InvalidOperationException("a new-flow fixture's first packet found a flow");
        FreshTable();
        if (NewFlowParseAndInsert() != FlowsPerInvoke)
            throw new InvalidOperationException("not every new-flow fixture's ct entries were created");
        FreshTable();

        // One established flow: SYN creates it, the backend's SYN-ACK and the client's ACK establish it.
        var syn = ToVip(40000, TcpFlags.Syn).Build();
        Run(syn, ClientSlot); // rewritten in place: now addressed to the chosen backend
        var backend = FindBackendOf(syn);
        _reply = FromBackend(backend, 40000, TcpFlags.Ack).Build();
        _established = ToVip(40000, TcpFlags.Ack).Build();
        Run(FromBackend(backend, 40000, TcpFlags.Syn | TcpFlags.Ack).Build(), BackendSlot);
        Run((byte[])_established.Clone(), ClientSlot);

        // 64 established flows (one per client port) for the batch cases: a batch of distinct flows,
        // as a worker sees them, instead of one hot ct entry.
        _batchForward = new byte[BatchFrames][];
        _batchReply = new byte[BatchFrames][];
        for (int i = 0; i < BatchFrames; i++)
        {
            int port = 41000 + i;
            var open = ToVip(port, TcpFlags.Syn).Build();
            Run(open, ClientSlot);
            var chosen = FindBackendOf(open);
            Run(FromBackend(chosen, port, TcpFlags.Syn | TcpFlags.Ack).Build(), BackendSlot);
            _batchForward[i] = ToVip(port, TcpFlags.Ack).Build();
            _batchReply[i] = FromBackend(chosen, port, TcpFlags.Ack).Build();
            Run((byte[])_batchForward[i].Clone(), ClientSlot);
        }

        // 65,536 established flows for the spread case: their ct entries (8 MB) and frames (5 MB)
        // are far beyond the caches, as on a busy node, so each frame's ct lines come from memory.
        _spreadForward = new byte[SpreadFlows][];
        for (int i = 0; i < SpreadFlows; i++)
        {
            int port = 20000 + i / 250;
            string client = $"10.244.200.{1 + i % 250}";
            var open = ToVip(port, TcpFlags.Syn, client: client).Build();
            Run(open, ClientSlot);
            var chosen = FindBackendOf(open);
            Run(FromBackend(chosen, port, TcpFlags.Syn | TcpFlags.Ack, client).Build(), BackendSlot);
            _spreadForward[i] = ToVip(port, TcpFlags.Ack, client: client).Build();
            Run((byte[])_spreadForward[i].Clone(), ClientSlot);
        }

        // Every established case must take the established path — no flow created, replies
        // counted as replies — in the state the benchmarks start from (BenchmarkDotNet runs each
        // case in its own process right after this setup).
        long newFlows = _rig.Pipeline.Counters.NewFlows;
        long replies = _rig.Pipeline.Counters.Replies;
        if (EstablishedForward() != Verdict.Forward || EstablishedForwardLoop(100) != 100 || EstablishedReply() != Verdict.Forward
            || EstablishedForwardBatch() != BatchFrames || EstablishedReplyBatch() != BatchFrames
            || EstablishedForwardSpread() != BatchFrames
            || _rig.Pipeline.Counters.NewFlows != newFlows || _rig.Pipeline.Counters.Replies != replies + 1 + BatchFrames)
            throw new InvalidOperationException("the established-flow fixtures are not all forwarded as established flows");
        if (Policy && _rig.Pipeline.Counters.PolicyRechecks != 0)
            throw new InvalidOperationException("the established-flow case re-checks policy: it would not measure the cached verdict");
    }

    private Addressing.NetAddress FindBackendOf(byte[] synAfterRewrite) =>
        Addressing.NetAddress.FromV4(synAfterRewrite.AsSpan(14 + 16, 4));

    private PacketResult Run(byte[] frame, int slot)
    {
        _rig.Pipeline.BeginBatch(_snapshot, _rig.NextHops, _rig.NowMs);
        var result = _rig.Pipeline.Process(frame, slot);
        _rig.Pipeline.ClearPending();
        return result;
    }

    /// <summary>What every per-packet case pays besides <see cref="PacketPipeline.Process"/>:
    /// the template copy and BeginBatch. Subtract it to get the pipeline's own cost.</summary>
    [Benchmark(Description = "harness only: frame copy + BeginBatch")]
    public int HarnessOnly()
    {
        _rig.Pipeline.BeginBatch(_snapshot, _rig.NextHops, _rig.NowMs);
        _established.AsSpan().CopyTo(_work);
        return _work[0];
    }

    [Benchmark(Description = "established flow, client → backend (DNAT)")]
    public Verdict EstablishedForward()
    {
        _rig.Pipeline.BeginBatch(_snapshot, _rig.NextHops, _rig.NowMs);
        _established.AsSpan().CopyTo(_work);
        return _rig.Pipeline.Process(_work.AsSpan(0, _established.Length), ClientSlot).Verdict;
    }

    /// <summary><see cref="EstablishedForward"/> <paramref name="packets"/> times in a direct loop, as the
    /// C reference's pr_run_one runs its twin: per packet the frame copy, Process and ClearPending;
    /// BeginBatch once (no per-packet delegate call or clock store, which the C loop does not pay).</summary>
    internal int EstablishedForwardLoop(int packets)
    {
        var pipeline = _rig.Pipeline;
        pipeline.BeginBatch(_snapshot, _rig.NextHops, _rig.NowMs);
        var template = _established.AsSpan();
        var work = _work.AsSpan(0, template.Length);
        int forwarded = 0;
        for (int i = 0; i < packets; i++)
        {
            template.CopyTo(work);
            forwarded += pipeline.Process(work, ClientSlot).Verdict == Verdict.Forward ? 1 : 0;
            pipeline.ClearPending();
        }
        return forwarded;
    }

    [Benchmark(Description = "established flow, backend → client (reverse NAT)")]
    public Verdict EstablishedReply()
    {
        _rig.Pipeline.BeginBatch(_snapshot, _rig.NextHops, _rig.NowMs);
        _reply.AsSpan().CopyTo(_work);
        return _rig.Pipeline.Process(_work.AsSpan(0, _reply.Length), BackendSlot).Verdict;
    }

    [Benchmark(Description = "established flows, client → backend (DNAT), per frame of a 64-frame batch", OperationsPerInvoke = BatchFrames)]
    public int EstablishedForwardBatch() => RunBatch(_batchForward, ClientSlot);

    [Benchmark(Description = "established flows, backend → client (reverse NAT), per frame of a 64-frame batch", OperationsPerInvoke = BatchFrames)]
    public int EstablishedReplyBatch() => RunBatch(_batchReply, BackendSlot);

    [Benchmark(Description = "established flows, client → backend (DNAT), per frame of a 64-frame batch, 65,536 flows", OperationsPerInvoke = BatchFrames)]
    public int EstablishedForwardSpread()
    {
        var pipeline = _rig.Pipeline;
        pipeline.BeginBatch(_snapshot, _rig.NextHops, _rig.NowMs);
        int forwarded = ProcessBatch(_spreadForward, _spreadNext, BatchFrames, ClientSlot);
        _spreadNext = (_spreadNext + BatchFrames) & (SpreadFlows - 1);
        pipeline.ClearPending();
        return forwarded;
    }

    /// <summary>What a worker does per batch: BeginBatch once, copy each frame (its arrival in
    /// UMEM), then process the batch.</summary>
    private int RunBatch(byte[][] frames, int slot)
    {
        var pipeline = _rig.Pipeline;
        pipeline.BeginBatch(_snapshot, _rig.NextHops, _rig.NowMs);
        int forwarded = ProcessBatch(frames, 0, frames.Length, slot);
        pipeline.ClearPending();
        return forwarded;
    }

    /// <summary>Copies <paramref name="count"/> templates from <paramref name="first"/> into the
    /// batch buffers and runs them through <see cref="PacketPipeline.ProcessBatch{TFrames}"/>.</summary>
    private int ProcessBatch(byte[][] templates, int first, int count, int slot) => ProcessBatch(_rig.Pipeline, templates, first, count, slot);

    private int ProcessBatch(PacketPipeline pipeline, byte[][] templates, int first, int count, int slot)
    {
        _batch.Clear();
        for (int i = 0; i < count; i++)
            _batch.Add(templates[first + i]);
        if (PerFrame)
        {
            for (int i = 0; i < count; i++)
                _results[i] = pipeline.Process(_batch.Frame(i), slot);
        }
        else
        {
            var frames = _batch.AsFrames();
            pipeline.ProcessBatch(ref frames, slot, _results);
        }
        int forwarded = 0;
        for (int i = 0; i < count; i++)
            if (_results[i].Verdict == Verdict.Forward)
                forwarded++;
        return forwarded;
    }

    [IterationSetup(Target = nameof(NewFlow))]
    public void FreshTable()
    {
        // Clearing (rather than allocating a new table) keeps the table's pages resident, so
        // the measurement is the insert path and not first-touch page faults.
        _rig.Ct.ClearUnsynchronized();
        _nextNewFlow = 0;
    }

    [Benchmark(Description = "new flow: SYN → Maglev (M=16381, 100 backends) → ct insert → DNAT", OperationsPerInvoke = FlowsPerInvoke)]
    [InvocationCount(InvocationsPerIteration, unrollFactor: 1)]
    public int NewFlow()
    {
        int forwarded = 0;
        var pipeline = _rig.Pipeline;
        for (int i = 0; i < FlowsPerInvoke; i += BatchFrames)
        {
            pipeline.BeginBatch(_snapshot, _rig.NextHops, _rig.NowMs);
            forwarded += ProcessBatch(_newFlows, _nextNewFlow, BatchFrames, ClientSlot);
            _nextNewFlow += BatchFrames;
            pipeline.ClearPending(); // the worker flushes reply tuples once per batch
        }
        return forwarded;
    }
}

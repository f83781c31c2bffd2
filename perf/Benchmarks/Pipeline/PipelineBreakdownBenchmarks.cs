using BenchmarkDotNet.Attributes;
using FastPath.Conntrack;
using FastPath.Packets;
using FastPath.Pipeline;
using FastPath.Tests.Fixtures;
using static FastPath.Tests.Fixtures.PipelineRig;

namespace FastPath.Benchmarks.Pipeline;

/// <summary>
/// Where a packet's time goes: the first parts of the path alone, over the same fixtures as the
/// whole-path cases, so that the whole minus its parts says what the rest costs.
/// - One established flow: frame copy + BeginBatch (<see cref="HarnessOnly"/>), + parse,
///   + ct lookup, whole (<see cref="EstablishedForward"/>).
/// - New flows, frame by frame into one table: parse + ct lookup (a miss), + the ct insert of
///   both entries as the pipeline makes it (the reply key's lookup, then both claims), whole
///   (<see cref="NewFlow"/> with <see cref="PerFrame"/>). The reply keys and backends come from a
///   run of the whole path at set-up, so the insert stores what the pipeline would.
/// - New flows into a ct small enough to stay in cache (<see cref="NewFlowCachedTable"/>): what the
///   whole path costs when no ct line has to come from memory.
/// <c>--cpu-loop breakdown</c> runs these alternating in one process.
/// </summary>
public partial class PipelineBenchmarks
{
    /// <summary>8,192 entries: 512 KB of entries and 32 KB of State words, within this machine's L2.</summary>
    private const int CachedTableCapacity = 8192;
    /// <summary>New flows per fresh cache-sized table: a quarter of its capacity in entries (two per flow).</summary>
    internal const int CachedTableFlows = 2048;
    private PipelineRig _cachedRig = null!;
    private FlowKey[] _newFlowReplyKeys = null!;
    private CtNewFlow[] _newFlowEntries = null!;

    /// <summary>The reply key and ct contents the whole path gives each new-flow fixture.</summary>
    private void PlanNewFlowParts()
    {
        _newFlowReplyKeys = new FlowKey[_newFlows.Length];
        _newFlowEntries = new CtNewFlow[_newFlows.Length];
        FreshTable();
        for (int i = 0; i < _newFlows.Length; i++)
        {
            byte[] frame = (byte[])_newFlows[i].Clone();
            if (Run(frame, ClientSlot).Verdict != Verdict.Forward || PacketParser.Parse(frame, out ParsedPacket dnat) != DropReason.None)
                throw new InvalidOperationException($"new-flow fixture {i} is not forwarded");
            FlowKey.Build(out _newFlowReplyKeys[i], in dnat.Destination, in dnat.Source, dnat.DestinationPortRaw, dnat.SourcePortRaw,
                dnat.Protocol);
            _newFlowEntries[i] = new CtNewFlow(BackendIdOf(in dnat.Destination), CtTable.BackendCheckOf(in dnat.Destination, dnat.DestinationPortRaw), ClientSlot,
                ClientMac, OurClientSideMac, policyRevision: 0, frontendId: 1);
        }
        FreshTable();
    }

    private uint BackendIdOf(in Addressing.NetAddress address)
    {
        for (uint id = 1; id < _snapshot.BackendIdLimit; id++)
            if (_snapshot.Backend(id).Address == address)
                return id;
        throw new InvalidOperationException($"{address} is not a backend of the benchmark snapshot");
    }

    [Benchmark(Description = "established flow, parts: frame copy + BeginBatch + parse")]
    public DropReason EstablishedParseOnly()
    {
        _rig.Pipeline.BeginBatch(_snapshot, _rig.NextHops, _rig.NowMs);
        _established.AsSpan().CopyTo(_work);
        return PacketParser.Parse(_work.AsSpan(0, _established.Length), out _);
    }

    [Benchmark(Description = "established flow, parts: frame copy + BeginBatch + parse + ct lookup")]
    public bool EstablishedParseAndLookup()
    {
        _rig.Pipeline.BeginBatch(_snapshot, _rig.NextHops, _rig.NowMs);
        _established.AsSpan().CopyTo(_work);
        return PacketParser.Parse(_work.AsSpan(0, _established.Length), out ParsedPacket packet) == DropReason.None
            && _rig.Ct.TryLookup(in packet.Key, out _);
    }

    [IterationSetup(Targets = [nameof(NewFlowParseAndMiss), nameof(NewFlowParseAndInsert)])]
    public void FreshTableForParts() => FreshTable();

    [Benchmark(Description = "new flow, parts: frame copy + parse + ct lookup (miss)", OperationsPerInvoke = FlowsPerInvoke)]
    [InvocationCount(InvocationsPerIteration, unrollFactor: 1)]
    public int NewFlowParseAndMiss()
    {
        int misses = 0;
        for (int i = _nextNewFlow, end = _nextNewFlow + FlowsPerInvoke; i < end; i++)
        {
            byte[] template = _newFlows[i];
            template.AsSpan().CopyTo(_work);
            if (PacketParser.Parse(_work.AsSpan(0, template.Length), out ParsedPacket packet) == DropReason.None
                && !_rig.Ct.TryLookup(in packet.Key, out _))
                misses++;
        }
        _nextNewFlow += FlowsPerInvoke;
        return misses;
    }

    [Benchmark(Description = "new flow, parts: frame copy + parse + ct lookup (miss) + ct insert of both entries", OperationsPerInvoke = FlowsPerInvoke)]
    [InvocationCount(InvocationsPerIteration, unrollFactor: 1)]
    public int NewFlowParseAndInsert()
    {
        int inserted = 0;
        CtTable ct = _rig.Ct;
        long now = _rig.NowMs;
        for (int i = _nextNewFlow, end = _nextNewFlow + FlowsPerInvoke; i < end; i++)
        {
            byte[] template = _newFlows[i];
            template.AsSpan().CopyTo(_work);
            if (PacketParser.Parse(_work.AsSpan(0, template.Length), out ParsedPacket packet) != DropReason.None)
                continue;
            CtProbe probe = ct.Probe(in packet.Key);
            if (!ct.TryLookup(in packet.Key, in probe, out _)
                && ct.TryCreateFlow(in packet.Key, in probe, in _newFlowReplyKeys[i], ct.Probe(in _newFlowReplyKeys[i]),
                    in _newFlowEntries[i], packet.TcpFlags, now) == CtCreateResult.Created)
                inserted++;
        }
        _nextNewFlow += FlowsPerInvoke;
        return inserted;
    }

    [IterationSetup(Target = nameof(NewFlowCachedTable))]
    public void FreshCachedTable() => _cachedRig.Ct.ClearUnsynchronized();

    [Benchmark(Description = "new flow, ct of 8,192 entries (in cache), 2,048 flows per fresh table", OperationsPerInvoke = CachedTableFlows)]
    [InvocationCount(1, unrollFactor: 1)]
    public int NewFlowCachedTable()
    {
        int forwarded = 0;
        PacketPipeline pipeline = _cachedRig.Pipeline;
        for (int first = 0; first < CachedTableFlows; first += BatchFrames)
        {
            pipeline.BeginBatch(_snapshot, _cachedRig.NextHops, _cachedRig.NowMs);
            forwarded += ProcessBatch(pipeline, _newFlows, first, BatchFrames, ClientSlot);
            pipeline.ClearPending();
        }
        return forwarded;
    }
}

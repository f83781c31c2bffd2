using FastPath.Pipeline;
using FastPath.Tests.Fixtures;
using static FastPath.Tests.Fixtures.PipelineRig;

namespace FastPath.Benchmarks.Pipeline;

/// <summary>
/// The same cases run by the C reference of the per-packet work (<see cref="PathReference"/>,
/// perf/native/pf_pathref.c) over the same frames, the same Maglev table and seed, and the same
/// ct size: what the work costs in plain C on this machine, for <c>--cpu-loop reference</c> to
/// time side by side with the C# pipeline. Policy off only (the reference has none). Not
/// BenchmarkDotNet cases: its generated projects would not carry the native library along.
/// </summary>
public partial class PipelineBenchmarks
{
    private const int ReferenceStride = 128;
    /// <summary>New-flow frames checked byte for byte against the C# pipeline's rewrite at set-up.</summary>
    private const int ReferenceCheckedFrames = 256;
    private PathReference _reference = null!;
    /// <summary>The reference over a ct of <see cref="CachedTableCapacity"/> entries, as <c>_cachedRig</c>.</summary>
    private PathReference _cachedReference = null!;
    private byte[] _referenceNewFlows = null!;
    private int[] _referenceNewFlowLengths = null!;
    private int _referenceNextNewFlow;
    private byte[] _referenceBatch = null!;
    private int[] _referenceBatchLengths = null!;
    private byte[] _referenceSpread = null!;
    private int[] _referenceSpreadLengths = null!;
    private int _referenceSpreadNext;

    /// <summary>Builds the C reference over this benchmark's snapshot and flows, then checks that it
    /// does the C# pipeline's work: the same rewritten bytes for the first new flows (so the same
    /// backend choice and checksums), every established frame forwarded on an existing flow, and
    /// every new flow forwarded with both ct entries created.</summary>
    internal void SetupReference()
    {
        if (Policy)
            throw new InvalidOperationException("the C reference has no policy: set it up with Policy = false");
        var frontend = _snapshot.Frontends[0];
        int backendCount = _snapshot.BackendIdLimit - 1; // ids 1..n
        var addresses = new byte[16 * backendCount];
        var ports = new ushort[backendCount];
        for (int id = 1; id <= backendCount; id++)
        {
            _snapshot.Backend((uint)id).Address.WriteBytes(addresses.AsSpan(16 * (id - 1), 16));
            ports[id - 1] = _snapshot.Backend((uint)id).PortRaw;
        }
        PathReference Reference(int ctCapacity) => new(ctCapacity, hashSeed: 0x5EED_F00D_CAFE_D00DUL, Bytes(frontend.Vip),
            frontend.PortRaw, (byte)Addressing.L4Protocol.Tcp, addresses, ports, frontend.MaglevTable, _snapshot.LookupSeedV4,
            MacBits(OurBackendSideMac), MacBits(Backend1Mac), BackendSlot, SingleInserter);
        _reference = Reference(_rig.Ct.Capacity);
        _cachedReference = Reference(CachedTableCapacity);

        (_referenceNewFlows, _referenceNewFlowLengths) = Pack(_newFlows);
        (_referenceBatch, _referenceBatchLengths) = Pack(_batchForward);
        (_referenceSpread, _referenceSpreadLengths) = Pack(_spreadForward);
        CheckReferenceRewritesAsPipeline();

        ReferenceFreshTable();
        int forwarded = 0;
        for (int i = 0; i < InvocationsPerIteration; i++)
            forwarded += ReferenceNewFlow();
        if (forwarded != _newFlows.Length || _reference.CountEntries() != 2 * _newFlows.Length)
            throw new InvalidOperationException(
                $"the C reference forwarded {forwarded} of {_newFlows.Length} new flows and holds {_reference.CountEntries()} ct entries");
        ReferenceFreshTable();
        OpenReferenceFlows();

        ReferenceFreshCachedTable();
        if (ReferenceNewFlowCachedTable() != CachedTableFlows || _cachedReference.CountEntries() != 2 * CachedTableFlows)
            throw new InvalidOperationException("the cache-sized C reference does not forward every new flow with both ct entries");
    }

    /// <summary>The C reference's rewrite of the first new-flow frames equals the pipeline's, byte for byte.</summary>
    private void CheckReferenceRewritesAsPipeline()
    {
        FreshTable();
        for (int i = 0; i < ReferenceCheckedFrames; i++)
        {
            byte[] ours = (byte[])_newFlows[i].Clone();
            byte[] theirs = (byte[])_newFlows[i].Clone();
            if (Run(ours, ClientSlot).Verdict != Verdict.Forward || !_reference.Process(theirs, ClientSlot))
                throw new InvalidOperationException($"new-flow frame {i} is not forwarded by both the pipeline and the C reference");
            if (!ours.AsSpan().SequenceEqual(theirs))
                throw new InvalidOperationException(
                    $"new-flow frame {i}: the C reference wrote {Convert.ToHexString(theirs)}, the pipeline {Convert.ToHexString(ours)}");
        }
        FreshTable();
        _reference.Clear();
    }

    /// <summary>The reference's established flows: the one-flow case's and the batch and spread cases' (SYN, then the client's ACK).
    /// Checks that their frames are then forwarded without creating a flow.</summary>
    private void OpenReferenceFlows()
    {
        var reference = _reference;
        Open(40000, null);
        for (int i = 0; i < BatchFrames; i++)
            Open(41000 + i, null);
        for (int i = 0; i < SpreadFlows; i++)
            Open(20000 + i / 250, $"10.244.200.{1 + i % 250}");
        long created = reference.NewFlows;
        if (ReferenceEstablished(100) != 100 || ReferenceEstablishedBatch() != BatchFrames || ReferenceEstablishedSpread() != BatchFrames
            || reference.NewFlows != created)
            throw new InvalidOperationException("the C reference's established-flow frames are not all forwarded on existing flows");

        void Open(int port, string? client)
        {
            if (!reference.Process(ToVip(port, Packets.TcpFlags.Syn, client: client).Build(), ClientSlot)
                || !reference.Process(ToVip(port, Packets.TcpFlags.Ack, client: client).Build(), ClientSlot))
                throw new InvalidOperationException($"the C reference does not forward the flow from port {port}");
        }
    }

    /// <summary>Clears the reference's ct (pages stay resident) and restarts the new-flow templates.</summary>
    internal void ReferenceFreshTable()
    {
        _reference.Clear();
        _referenceNextNewFlow = 0;
    }

    /// <summary>As <see cref="NewFlow"/>: the next 4,096 new-flow templates in 64-frame batches.</summary>
    internal int ReferenceNewFlow()
    {
        int forwarded = _reference.RunBatches(_referenceNewFlows, ReferenceStride, _referenceNewFlowLengths, _referenceNextNewFlow,
            FlowsPerInvoke, BatchFrames, ClientSlot);
        _referenceNextNewFlow += FlowsPerInvoke;
        return forwarded;
    }

    internal void ReferenceFreshCachedTable() => _cachedReference.Clear();

    /// <summary>As <see cref="NewFlowCachedTable"/>: 2,048 new flows into the cache-sized ct.</summary>
    internal int ReferenceNewFlowCachedTable() =>
        _cachedReference.RunBatches(_referenceNewFlows, ReferenceStride, _referenceNewFlowLengths, 0, CachedTableFlows, BatchFrames, ClientSlot);

    /// <summary>As <see cref="EstablishedForward"/>, <paramref name="iterations"/> times in one call.</summary>
    internal int ReferenceEstablished(int iterations) => _reference.RunOne(_established, iterations, ClientSlot);

    /// <summary>As <see cref="EstablishedForwardBatch"/>.</summary>
    internal int ReferenceEstablishedBatch() =>
        _reference.RunBatches(_referenceBatch, ReferenceStride, _referenceBatchLengths, 0, BatchFrames, BatchFrames, ClientSlot);

    /// <summary>As <see cref="EstablishedForwardSpread"/>.</summary>
    internal int ReferenceEstablishedSpread()
    {
        int forwarded = _reference.RunBatches(_referenceSpread, ReferenceStride, _referenceSpreadLengths, _referenceSpreadNext,
            BatchFrames, BatchFrames, ClientSlot);
        _referenceSpreadNext = (_referenceSpreadNext + BatchFrames) & (SpreadFlows - 1);
        return forwarded;
    }

    private static (byte[] Packed, int[] Lengths) Pack(byte[][] frames)
    {
        var packed = new byte[frames.Length * ReferenceStride];
        var lengths = new int[frames.Length];
        for (int i = 0; i < frames.Length; i++)
        {
            frames[i].CopyTo(packed, i * ReferenceStride);
            lengths[i] = frames[i].Length;
        }
        return (packed, lengths);
    }

    /// <summary>An address's 16 bytes, IPv4 as ::ffff:a.b.c.d: how the C reference keys it too.</summary>
    private static byte[] Bytes(Addressing.NetAddress address)
    {
        var bytes = new byte[16];
        address.WriteBytes(bytes);
        return bytes;
    }

    private static ulong MacBits(NextHop.MacAddress mac) => Conntrack.CtEntry.Pack(in mac);
}

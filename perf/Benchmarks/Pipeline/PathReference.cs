using System.Runtime.InteropServices;

namespace FastPath.Benchmarks.Pipeline;

/// <summary>
/// The C reference of the fast path's per-packet work (perf/native/pf_pathref.c, built as
/// libpf_pathref.so next to this assembly): one ct, one frontend and its Maglev table, driven
/// one timed loop per call so the P/Invoke cost is not in the figures.
/// </summary>
internal sealed class PathReference : IDisposable
{
    private const string Library = "pf_pathref";
    private IntPtr _ct;

    /// <param name="vip">The frontend address as the C parser keys it: IPv4-mapped IPv6, 16 bytes.</param>
    /// <param name="backendAddresses">16 bytes per backend, ids 1..n in order.</param>
    /// <param name="table">The frontend's Maglev table (backend ids).</param>
    /// <param name="singleInserter">Claims ct slots with plain stores, as CtTable.SingleInserter.</param>
    public PathReference(int ctCapacity, ulong hashSeed, byte[] vip, ushort vipPortRaw, byte protocol,
        byte[] backendAddresses, ushort[] backendPortsRaw, uint[] table, uint maglevSeedV4, ulong localMac, ulong backendMac, int backendSlot,
        bool singleInserter)
    {
        _ct = pr_create((uint)ctCapacity, hashSeed, vip, vipPortRaw, protocol, backendAddresses, backendPortsRaw, (uint)backendPortsRaw.Length,
            table, (uint)table.Length, maglevSeedV4, localMac, backendMac, backendSlot, singleInserter ? 1 : 0);
        if (_ct == IntPtr.Zero)
            throw new InvalidOperationException($"pr_create failed (ct capacity {ctCapacity}, table of {table.Length})");
    }

    /// <summary>One frame in place, as PacketPipeline.Process, then the per-batch flush; true when forwarded.</summary>
    public bool Process(byte[] frame, int ingressSlot) => (pr_run_frame(_ct, frame, frame.Length, ingressSlot) & 0xFF) == 1;

    /// <summary><paramref name="iterations"/> times: copy the template into a work buffer, process it. Returns how many were forwarded.</summary>
    public int RunOne(byte[] template, int iterations, int ingressSlot) =>
        pr_run_one(_ct, template, template.Length, iterations, ingressSlot);

    /// <summary>Templates <paramref name="first"/>..+<paramref name="count"/> of <paramref name="packed"/>
    /// (<paramref name="stride"/> bytes apart) in batches of <paramref name="batch"/>: copied into batch buffers,
    /// then processed staged ahead as ProcessBatch. Returns how many were forwarded.</summary>
    public int RunBatches(byte[] packed, int stride, int[] lengths, int first, int count, int batch, int ingressSlot) =>
        pr_run_batches(_ct, ref packed[first * stride], stride, ref lengths[first], count, batch, ingressSlot);

    public void Clear() => pr_clear(_ct);

    public int CountEntries() => (int)pr_count_entries(_ct);

    public long NewFlows => (long)pr_new_flows(_ct);

    public void Dispose()
    {
        pr_destroy(_ct);
        _ct = IntPtr.Zero;
    }

    [DllImport(Library)]
    private static extern IntPtr pr_create(uint capacity, ulong seed, byte[] vip, ushort vipPort, byte proto,
        byte[] backendAddrs, ushort[] backendPorts, uint count, uint[] table, uint tableSize, uint maglevSeed,
        ulong localMac, ulong backendMac, int backendSlot, int singleInserter);

    [DllImport(Library)]
    private static extern ulong pr_run_frame(IntPtr ct, byte[] frame, int len, int ingressSlot);

    [DllImport(Library)]
    private static extern int pr_run_one(IntPtr ct, byte[] template, int len, int iterations, int ingressSlot);

    [DllImport(Library)]
    private static extern int pr_run_batches(IntPtr ct, ref byte templates, int stride, ref int lengths, int count, int batch, int ingressSlot);

    [DllImport(Library)]
    private static extern void pr_clear(IntPtr ct);

    [DllImport(Library)]
    private static extern uint pr_count_entries(IntPtr ct);

    [DllImport(Library)]
    private static extern ulong pr_new_flows(IntPtr ct);

    [DllImport(Library)]
    private static extern void pr_destroy(IntPtr ct);
}

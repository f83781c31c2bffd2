using System.Runtime.CompilerServices;
using System.Threading;

namespace FastPath.Xsk;

/// <summary>
/// One AF_XDP ring shared with the kernel: a power-of-two array plus free-running u32
/// producer and consumer indices. We are the consumer of RX and completion rings and the
/// producer of TX and fill rings. The protocol follows libxdp's xsk.h:
/// <list type="bullet">
/// <item>consumer: read the producer index with acquire, read the entries, then publish the new
/// consumer index with release;</item>
/// <item>producer: read the consumer index with acquire, write the entries, then publish the
/// new producer index with release.</item>
/// </list>
/// The struct holds only pointers and the size — no cached indices — so copies of it (e.g.
/// from <see cref="XskSocket.Rx"/>) are always safe to use. The price is one acquire load of the
/// kernel's index per Peek/Reserve, i.e. per batch. One thread per ring: Reserve/Submit and
/// Peek/Release must each be paired, one pair per batch, before the next call.
/// No P/Invoke and no allocation here.
/// </summary>
public readonly unsafe struct XskRing
{
    // XDP_RING_NEED_WAKEUP (linux/if_xdp.h): the kernel wants a syscall to make progress.
    private const uint NeedWakeupFlag = 1;

    private readonly uint* _producer;
    private readonly uint* _consumer;
    private readonly uint* _flags;
    private readonly void* _descs;
    public readonly uint Size;
    public readonly uint Mask;

    internal XskRing(ulong producer, ulong consumer, ulong flags, ulong descs, uint size, uint mask)
    {
        _producer = (uint*)producer;
        _consumer = (uint*)consumer;
        _flags = (uint*)flags;
        _descs = (void*)descs;
        Size = size;
        Mask = mask;
    }

    public bool IsValid => _producer != null;

    /// <summary>
    /// Consumer side (RX, completion): how many entries (at most max) are ready, starting at index.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Peek(uint max, out uint index)
    {
        // Our own index: only this thread writes it, a plain read is exact.
        uint consumer = *_consumer;
        // Acquire: the entries the kernel wrote before publishing this producer index are
        // visible to the reads of RxTxDesc/FillCompAddr that follow.
        uint producer = Volatile.Read(ref *_producer);
        uint available = producer - consumer; // free-running u32 indices: wrap-around is fine
        index = consumer;
        return available < max ? available : max;
    }

    /// <summary>Consumer side: hands n peeked entries back to the kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Release(uint n)
    {
        // Release: our reads of the n entries complete before the kernel may overwrite them.
        Volatile.Write(ref *_consumer, *_consumer + n);
    }

    /// <summary>
    /// Producer side (TX, fill): reserves up to n free entries starting at index and returns
    /// how many (possibly fewer than n, 0 when full).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Reserve(uint n, out uint index)
    {
        uint producer = *_producer; // our own index
        // Acquire: the kernel finished reading the entries it consumed before we overwrite them.
        uint consumer = Volatile.Read(ref *_consumer);
        uint free = Size - (producer - consumer);
        index = producer;
        return free < n ? free : n;
    }

    /// <summary>Producer side: publishes n reserved (and written) entries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Submit(uint n)
    {
        // Release: the entry writes are visible to the kernel before the new producer index.
        Volatile.Write(ref *_producer, *_producer + n);
    }

    /// <summary>RX/TX entry at a free-running index (masked here).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref XdpDesc RxTxDesc(uint index) => ref ((XdpDesc*)_descs)[index & Mask];

    /// <summary>Fill/completion entry (a UMEM address) at a free-running index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong FillCompAddr(uint index) => ref ((ulong*)_descs)[index & Mask];

    /// <summary>
    /// True when the kernel asks for a wake-up (fill: call WakeUp; TX: call KickTx). Only a
    /// hint about whether a syscall is needed, so no ordering beyond a fresh read is required.
    /// </summary>
    public bool NeedsWakeup
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (Volatile.Read(ref *_flags) & NeedWakeupFlag) != 0;
    }
}

using FastPath.Native;

namespace FastPath.Xsk;

/// <summary>
/// An AF_XDP socket bound to (ifindex, queue) on a shared <see cref="Umem"/>, with its own RX,
/// TX, fill and completion rings (each socket needs its own fill/completion rings when it is
/// on another device or queue than the UMEM's first socket). Created in, and bound to a device
/// of, the calling thread's network namespace. Ring work happens in C# through
/// <see cref="XskRing"/>; the methods here are the only syscalls, each at most once per batch.
/// </summary>
public sealed unsafe class XskSocket : IDisposable
{
    private IntPtr _handle;

    public int Fd { get; }
    public int Ifindex { get; }
    public int Queue { get; }
    public Umem Umem { get; }
    public XskRing Rx { get; }
    public XskRing Tx { get; }
    public XskRing Fill { get; }
    public XskRing Completion { get; }

    private XskSocket(IntPtr handle, in FpXskInfo info, Umem umem, int ifindex, int queue)
    {
        _handle = handle;
        Fd = info.Fd;
        Umem = umem;
        Ifindex = ifindex;
        Queue = queue;
        Rx = ToRing(info.Rx);
        Tx = ToRing(info.Tx);
        Fill = ToRing(info.Fill);
        Completion = ToRing(info.Comp);
    }

    private static XskRing ToRing(in FpRingInfo r) => new(r.Producer, r.Consumer, r.Flags, r.Descs, r.Size, r.Mask);

    /// <param name="ringSize">Entries of each of the four rings; a power of two.</param>
    public static XskSocket Create(Umem umem, int ifindex, int queue, XskBindMode mode, int ringSize = 2048)
    {
        if (ringSize <= 0 || (ringSize & (ringSize - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(ringSize), ringSize, "ring size must be a power of two");
        var config = new FpXskConfig
        {
            Ifindex = ifindex,
            Queue = (uint)queue,
            RxSize = (uint)ringSize,
            TxSize = (uint)ringSize,
            FillSize = (uint)ringSize,
            CompSize = (uint)ringSize,
            BindMode = (uint)mode,
        };
        int status = XskImports.Create(umem.Handle, config, out var handle, out var info);
        if (status < 0)
            NativeException.Throw(-status, $"creating an AF_XDP socket on ifindex {ifindex} queue {queue} ({mode})");
        return new XskSocket(handle, info, umem, ifindex, queue);
    }

    /// <summary>Asks the kernel to send what the TX ring holds (call when Tx.NeedsWakeup).</summary>
    public void KickTx()
    {
        int status = XskImports.KickTx(Fd);
        if (status < 0)
            ThrowSyscall(status, "sendto (TX kick)");
    }

    /// <summary>Lets the kernel refill RX after the fill ring was topped up (call when Fill.NeedsWakeup).</summary>
    public void WakeUp()
    {
        int status = XskImports.WakeUp(Fd);
        if (status < 0)
            ThrowSyscall(status, "recvfrom (RX wake-up)");
    }

    public XdpStatistics ReadStatistics()
    {
        NativeException.Check(XskImports.Statistics(Fd, out var stats), $"XDP_STATISTICS of socket {Fd}");
        return stats;
    }

    /// <summary>Waits until any fd is readable or timeoutMs passes; returns how many are ready (0: timeout).</summary>
    public static int Poll(ReadOnlySpan<int> fds, int timeoutMs)
    {
        fixed (int* p = fds)
            return NativeException.Check(XskImports.Poll(p, (uint)fds.Length, timeoutMs), "poll of AF_XDP sockets");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ThrowSyscall(int status, string what) => NativeException.Throw(-status, $"{what} on socket {Fd}");

    public void Dispose()
    {
        if (_handle == IntPtr.Zero)
            return;
        XskImports.Close(_handle);
        _handle = IntPtr.Zero;
    }
}

using System.Runtime.InteropServices;

namespace FastPath.Xsk;

/// <summary>XDP_STATISTICS of one socket (struct fp_xdp_stats / struct xdp_statistics), 48 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct XdpStatistics
{
    /// <summary>Dropped for other reasons.</summary>
    public readonly ulong RxDropped;
    public readonly ulong RxInvalidDescs;
    public readonly ulong TxInvalidDescs;
    /// <summary>Dropped because our RX ring was full: workers too slow.</summary>
    public readonly ulong RxRingFull;
    /// <summary>The kernel found the fill ring empty: refill sooner or with more frames.</summary>
    public readonly ulong RxFillRingEmptyDescs;
    public readonly ulong TxRingEmptyDescs;
}

using System.Runtime.CompilerServices;

namespace FastPath.Runtime;

/// <summary>
/// The UMEM frames a worker owns and is not lending to the kernel right now: a plain stack of
/// frame base addresses. One worker thread only — frames never move between workers, because a
/// worker owns the sockets of its queue on every device, so whatever ring a frame returns on
/// (completion of any device) belongs to the same worker.
/// </summary>
internal sealed class FramePool
{
    private readonly ulong[] _addresses;
    private readonly ulong _frameMask;
    private int _count;

    public FramePool(int capacity, int frameSize)
    {
        _addresses = new ulong[capacity];
        _frameMask = ~((ulong)frameSize - 1);
    }

    public int Count => _count;

    /// <summary>Returns a frame, given any address inside it (RX descriptors point past the headroom).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(ulong addressInFrame) => _addresses[_count++] = addressInFrame & _frameMask;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Pop() => _addresses[--_count];
}

namespace FastPath.Runtime;

/// <summary>A UMEM frame held until its next hop's neighbour resolves, and until when at most.</summary>
internal readonly record struct HeldFrame(ulong Address, uint Length, int IngressSlot, long DeadlineMs);

/// <summary>
/// The frames one worker holds for a missing neighbour (<see cref="Pipeline.Verdict.Hold"/>), oldest
/// first: a fixed ring, so holding allocates nothing. Like the kernel's per-neighbour queue (a
/// packet sent to a neighbour still being resolved waits for the answer instead of being
/// dropped), bounded in frames and in time; one worker thread only.
/// </summary>
internal sealed class NeighbourWaitQueue
{
    private readonly HeldFrame[] _frames;
    private int _head;
    private int _count;

    public NeighbourWaitQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _frames = new HeldFrame[capacity];
    }

    public int Count => _count;
    public int Free => _frames.Length - _count;

    /// <summary>The deadline of the oldest frame (the earliest: frames are added in time order and
    /// keep their deadline when put back); <see cref="long.MaxValue"/> when empty.</summary>
    public long OldestDeadlineMs => _count == 0 ? long.MaxValue : _frames[_head].DeadlineMs;

    /// <exception cref="InvalidOperationException">When full: callers hold only within <see cref="Free"/>.</exception>
    public void Enqueue(in HeldFrame frame)
    {
        if (_count == _frames.Length)
            throw new InvalidOperationException($"neighbour wait queue full ({_frames.Length} frames)");
        _frames[(_head + _count) % _frames.Length] = frame;
        _count++;
    }

    public HeldFrame Dequeue()
    {
        if (_count == 0)
            throw new InvalidOperationException("neighbour wait queue empty");
        HeldFrame frame = _frames[_head];
        _head = (_head + 1) % _frames.Length;
        _count--;
        return frame;
    }
}

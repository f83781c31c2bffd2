using System.Runtime.InteropServices;
using FastPath.Addressing;

namespace FastPath.NextHop;

/// <summary>
/// Preallocated, bounded, lock-free multi-producer / single-consumer queue of destinations
/// (Vyukov's bounded queue: one sequence number per cell). Workers enqueue from the hot path
/// without allocating or locking; when it is full the request is dropped and counted — the
/// worker asks again on its next miss, so nothing is lost for long.
/// </summary>
internal sealed class WantQueue
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Cell
    {
        public long Sequence;
        public NetAddress Value;
    }

    private readonly Cell[] _cells;
    private readonly long _mask;
    // Producers race on _enqueuePos with CAS; only the resolver thread touches _dequeuePos.
    private long _enqueuePos;
    private long _dequeuePos;
    private long _dropped;

    public WantQueue(int capacityPowerOfTwo)
    {
        if (capacityPowerOfTwo < 2 || (capacityPowerOfTwo & (capacityPowerOfTwo - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(capacityPowerOfTwo), capacityPowerOfTwo, "must be a power of two >= 2");
        _cells = new Cell[capacityPowerOfTwo];
        for (int i = 0; i < _cells.Length; i++)
            _cells[i].Sequence = i;
        _mask = capacityPowerOfTwo - 1;
    }

    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Any thread. False (and counted) when full.</summary>
    public bool TryEnqueue(in NetAddress address)
    {
        long pos = Volatile.Read(ref _enqueuePos);
        while (true)
        {
            ref Cell cell = ref _cells[pos & _mask];
            // Acquire: pairs with the consumer's release of the cell, so it is free to write.
            long diff = Volatile.Read(ref cell.Sequence) - pos;
            if (diff == 0)
            {
                if (Interlocked.CompareExchange(ref _enqueuePos, pos + 1, pos) == pos)
                {
                    cell.Value = address;
                    // Release: the value is written before the consumer sees the cell as full.
                    Volatile.Write(ref cell.Sequence, pos + 1);
                    return true;
                }
                pos = Volatile.Read(ref _enqueuePos);
            }
            else if (diff < 0)
            {
                Interlocked.Increment(ref _dropped);
                return false;
            }
            else
            {
                pos = Volatile.Read(ref _enqueuePos);
            }
        }
    }

    /// <summary>Resolver thread only.</summary>
    public bool TryDequeue(out NetAddress address)
    {
        long pos = _dequeuePos;
        ref Cell cell = ref _cells[pos & _mask];
        // Acquire: pairs with the producer's release, so Value is complete.
        if (Volatile.Read(ref cell.Sequence) != pos + 1)
        {
            address = default;
            return false;
        }
        address = cell.Value;
        // Release: the read of Value completes before producers may reuse the cell.
        Volatile.Write(ref cell.Sequence, pos + _mask + 1);
        _dequeuePos = pos + 1;
        return true;
    }
}

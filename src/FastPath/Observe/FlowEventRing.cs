using System.Numerics;
using System.Runtime.CompilerServices;

namespace FastPath.Observe;

/// <summary>
/// A worker's bounded ring of recent <see cref="FlowEvent"/>s: one writer (the worker, on the
/// packet path), any number of readers (the observe command, off the hot path), no locks, no
/// allocation after construction.
///
/// Overwrite semantics: the ring keeps the newest <see cref="Capacity"/> events. The writer never
/// waits for readers; when it laps them, the oldest events are overwritten and a reader asking for
/// them is told how many it missed. Sequences are dense (0, 1, 2, …), so a streaming reader
/// passes the sequence after the last event it saw and detects every gap.
///
/// Protocol per slot (a seqlock): the writer first marks the slot as being written (a store, then
/// a store-store barrier so the marker is visible before any field changes — not a full fence:
/// an Interlocked here waited, on every created flow, for the ct entries' cache-missing stores
/// to drain, about a fifth of the new-flow cost), fills the event in place, then
/// publishes the event's sequence (release) and advances the ring head (release). A reader copies
/// a slot only when the slot's published sequence is the one it expects before AND after the copy
/// (acquire reads around a read barrier); otherwise the writer overwrote it meanwhile and the event
/// counts as missed.
/// </summary>
public sealed class FlowEventRing
{
    public const int DefaultCapacity = 1024;
    /// <summary>Slot marker while the writer fills it.</summary>
    private const long Writing = -1;

    private struct Slot
    {
        public long Sequence;
        public FlowEvent Event;
    }

    private readonly Slot[] _slots;
    private readonly int _mask;
    private long _head; // next sequence to write; written by the writer only

    /// <param name="capacity">Events kept, a power of two ≥ 2.</param>
    public FlowEventRing(int capacity = DefaultCapacity)
    {
        if (capacity < 2 || !BitOperations.IsPow2(capacity))
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "flow event ring capacity must be a power of two >= 2");
        _slots = new Slot[capacity];
        for (int i = 0; i < _slots.Length; i++)
            _slots[i].Sequence = Writing; // nothing published yet: readers skip
        _mask = capacity - 1;
    }

    public int Capacity => _slots.Length;

    /// <summary>Events written so far (= the sequence the next event gets).</summary>
    public long Written => Volatile.Read(ref _head);

    /// <summary>
    /// Writer only: claims the next slot and returns its event to fill in place. Must be followed
    /// by <see cref="Publish"/> before the next <see cref="Reserve"/>. The returned event still
    /// holds the overwritten one's fields: the writer sets every field.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref FlowEvent Reserve()
    {
        ref Slot slot = ref _slots[(int)_head & _mask];
        Volatile.Write(ref slot.Sequence, Writing);
        Volatile.WriteBarrier();
        slot.Event.Sequence = _head;
        return ref slot.Event;
    }

    /// <summary>Writer only: makes the reserved event visible to readers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish()
    {
        long sequence = _head;
        Volatile.Write(ref _slots[(int)sequence & _mask].Sequence, sequence);
        Volatile.Write(ref _head, sequence + 1);
    }

    /// <summary>
    /// Copies events with sequence ≥ <paramref name="sinceSequence"/>, oldest first, into
    /// <paramref name="destination"/> (as many as fit). <paramref name="nextSequence"/> is where to
    /// continue (the sequence after the last event copied, or after the last one skipped);
    /// <paramref name="missed"/> counts requested events that were overwritten before they could
    /// be copied. Safe to call from any thread while the writer runs; allocates nothing.
    /// </summary>
    /// <returns>The number of events copied.</returns>
    public int ReadSince(long sinceSequence, Span<FlowEvent> destination, out long nextSequence, out long missed)
    {
        long head = Volatile.Read(ref _head);
        long start = Math.Max(0, sinceSequence);
        missed = 0;
        if (start > head)
            start = head; // a reader from the future (ring recreated): restart at the head
        long oldest = Math.Max(0, head - _slots.Length);
        if (start < oldest)
        {
            missed += oldest - start;
            start = oldest;
        }
        int copied = 0;
        long seq = start;
        for (; seq < head && copied < destination.Length; seq++)
        {
            ref Slot slot = ref _slots[(int)seq & _mask];
            if (Volatile.Read(ref slot.Sequence) != seq)
            {
                missed++; // overwritten since we read the head
                continue;
            }
            FlowEvent copy = slot.Event;
            Interlocked.MemoryBarrier(); // the copy's loads complete before the re-check below
            if (Volatile.Read(ref slot.Sequence) != seq)
            {
                missed++;
                continue;
            }
            destination[copied++] = copy;
        }
        nextSequence = seq;
        return copied;
    }
}

using System.Runtime.InteropServices;
using FastPath.Xsk;

namespace FastPath.Tests;

/// <summary>
/// XskRing's index arithmetic over plain memory, playing the kernel's side by hand: the
/// free-running u32 indices must wrap past uint.MaxValue, a full ring must refuse, and entries
/// are addressed modulo the size.
/// </summary>
public unsafe class NativeRingTests : IDisposable
{
    private const uint Size = 8;
    // Layout of the fake ring memory: producer, consumer, flags (u32 each, padded), then entries.
    private readonly byte* _memory = (byte*)NativeMemory.AllocZeroed(64 + Size * 16);
    private uint* Producer => (uint*)_memory;
    private uint* Consumer => (uint*)(_memory + 8);
    private uint* Flags => (uint*)(_memory + 16);
    private XskRing Ring => new((ulong)Producer, (ulong)Consumer, (ulong)Flags, (ulong)(_memory + 64), Size, Size - 1);

    public void Dispose() => NativeMemory.Free(_memory);

    [Fact]
    public void Producer_reserves_only_free_entries_and_publishes_on_submit()
    {
        *Producer = *Consumer = uint.MaxValue - 2; // three steps before the u32 wrap
        var ring = Ring;
        Assert.Equal(5u, ring.Reserve(5, out uint index));
        Assert.Equal(uint.MaxValue - 2, index);
        for (uint i = 0; i < 5; i++)
            ring.FillCompAddr(index + i) = 1000 + i;
        Assert.Equal(uint.MaxValue - 2, *Producer); // nothing visible before Submit
        ring.Submit(5);
        Assert.Equal(2u, *Producer);                  // wrapped
        Assert.Equal(3u, ring.Reserve(10, out index)); // 8 - 5 in flight
        Assert.Equal(2u, index);
        Assert.Equal(1000ul, ((ulong*)(_memory + 64))[(uint.MaxValue - 2) & (Size - 1)]);
    }

    [Fact]
    public void Consumer_sees_what_the_producer_published_across_the_wrap()
    {
        *Consumer = uint.MaxValue - 1;
        *Producer = unchecked(uint.MaxValue - 1 + 4); // the kernel published 4 descriptors (wrapped to 2)
        var ring = Ring;
        Assert.Equal(2u, *Producer);
        Assert.Equal(3u, ring.Peek(3, out uint index));
        Assert.Equal(uint.MaxValue - 1, index);
        ring.RxTxDesc(unchecked(index + 2)).Len = 60;
        Assert.Equal(60u, ((XdpDesc*)(_memory + 64))[0].Len); // index + 2 wraps to 0 -> slot 0
        ring.Release(3);
        Assert.Equal(1u, *Consumer);
        Assert.Equal(1u, ring.Peek(16, out index));
        Assert.Equal(1u, index);
        ring.Release(1);
        Assert.Equal(0u, ring.Peek(16, out _));
    }

    [Fact]
    public void Needs_wakeup_follows_the_kernel_flag()
    {
        var ring = Ring;
        Assert.False(ring.NeedsWakeup);
        *Flags = 1; // XDP_RING_NEED_WAKEUP
        Assert.True(ring.NeedsWakeup);
    }
}

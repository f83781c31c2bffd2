using FastPath.Runtime;

namespace FastPath.Tests;

/// <summary>The ring a worker holds frames in while their neighbours resolve: order, bounds, deadlines.</summary>
public sealed class NeighbourWaitQueueTests
{
    [Fact]
    public void Frames_come_out_oldest_first_across_the_ring_boundary_and_put_back_keep_their_order()
    {
        var queue = new NeighbourWaitQueue(3);
        Assert.Equal(long.MaxValue, queue.OldestDeadlineMs);
        for (int round = 0; round < 5; round++) // wraps the ring several times
        {
            for (int i = 0; i < 3; i++)
                queue.Enqueue(new HeldFrame((ulong)(round * 10 + i), 60, 1, 1000 + round * 10 + i));
            Assert.Equal(0, queue.Free);
            Assert.Equal(1000 + round * 10, queue.OldestDeadlineMs);
            // A release pass: the first stays held, goes back behind the others, keeps its deadline.
            HeldFrame kept = queue.Dequeue();
            queue.Enqueue(kept);
            Assert.Equal((ulong)(round * 10 + 1), queue.Dequeue().Address);
            Assert.Equal((ulong)(round * 10 + 2), queue.Dequeue().Address);
            Assert.Equal(kept, queue.Dequeue());
            Assert.Equal(0, queue.Count);
        }
    }

    [Fact]
    public void A_full_queue_refuses_more_and_an_empty_one_has_nothing_to_give()
    {
        var queue = new NeighbourWaitQueue(1);
        queue.Enqueue(new HeldFrame(1, 60, 0, 5));
        Assert.Throws<InvalidOperationException>(() => queue.Enqueue(new HeldFrame(2, 60, 0, 6)));
        queue.Dequeue();
        Assert.Throws<InvalidOperationException>(() => queue.Dequeue());
        Assert.Throws<ArgumentOutOfRangeException>(() => new NeighbourWaitQueue(0));
    }
}

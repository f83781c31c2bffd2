namespace FastPath.Pipeline;

/// <summary>
/// The frames of one batch as their owner holds them: a worker's RX descriptors in UMEM, or a
/// benchmark's buffers. <see cref="PacketPipeline.ProcessBatch{TFrames}"/> takes it as a struct
/// type argument, so the calls below are resolved at compile time (no interface dispatch per frame).
/// </summary>
public interface IFrameBatch
{
    int Count { get; }

    /// <summary>Frame <paramref name="index"/> (0 ≤ index &lt; Count), rewritten in place.</summary>
    Span<byte> Frame(int index);
}

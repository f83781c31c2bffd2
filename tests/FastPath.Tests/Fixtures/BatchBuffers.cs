using FastPath.Pipeline;

namespace FastPath.Tests.Fixtures;

/// <summary>
/// Reusable frame buffers for one batch, filled by copying templates (a frame arriving in UMEM),
/// handed to <see cref="PacketPipeline.ProcessBatch{TFrames}"/> as <see cref="Frames"/>.
/// </summary>
public sealed class BatchBuffers(int capacity, int frameBytes = 256)
{
    private readonly byte[][] _buffers = Enumerable.Range(0, capacity).Select(_ => new byte[frameBytes]).ToArray();
    private readonly int[] _lengths = new int[capacity];

    public int Count { get; private set; }

    public void Clear() => Count = 0;

    public void Add(ReadOnlySpan<byte> template)
    {
        template.CopyTo(_buffers[Count]);
        _lengths[Count++] = template.Length;
    }

    public Span<byte> Frame(int index) => _buffers[index].AsSpan(0, _lengths[index]);

    /// <summary>The buffered frames as the pipeline takes them (a struct: no allocation, no dispatch).</summary>
    public Frames AsFrames() => new(_buffers, _lengths, Count);

    public readonly struct Frames(byte[][] buffers, int[] lengths, int count) : IFrameBatch
    {
        public int Count => count;
        public Span<byte> Frame(int index) => buffers[index].AsSpan(0, lengths[index]);
    }
}

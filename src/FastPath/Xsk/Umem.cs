using FastPath.Native;

namespace FastPath.Xsk;

/// <summary>
/// The packet buffer area shared by all AF_XDP sockets of the agent: FrameCount frames of
/// FrameSize bytes. The first <see cref="XskSocket"/> created on it registers it with the
/// kernel; later sockets (any device, any queue) share it, so a frame received on one device
/// can be sent on another without copying. Dispose after all its sockets.
/// </summary>
public sealed unsafe class Umem : IDisposable
{
    private IntPtr _handle;

    public byte* Base { get; }
    public int FrameSize { get; }
    public int FrameCount { get; }
    public long SizeBytes { get; }

    internal IntPtr Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
            return _handle;
        }
    }

    private Umem(IntPtr handle, in FpUmemInfo info)
    {
        _handle = handle;
        Base = (byte*)info.Base;
        FrameSize = (int)info.FrameSize;
        FrameCount = (int)info.FrameCount;
        SizeBytes = (long)info.Size;
    }

    /// <param name="frameSize">Bytes per frame: a power of two, 2048 or 4096.</param>
    public static Umem Create(int frameCount, int frameSize = NativeConstants.DefaultFrameSize)
    {
        if (frameCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(frameCount), frameCount, "frame count must be positive");
        if (frameSize is not (2048 or 4096))
            throw new ArgumentOutOfRangeException(nameof(frameSize), frameSize, "frame size must be 2048 or 4096 bytes");
        int status = XskImports.UmemCreate((uint)frameCount, (uint)frameSize, out var handle, out var info);
        if (status < 0)
            NativeException.Throw(-status, $"creating a UMEM of {frameCount} x {frameSize} bytes");
        return new Umem(handle, info);
    }

    /// <summary>UMEM address of frame i (what the fill ring and TX descriptors carry).</summary>
    public ulong FrameAddress(int frame) => (ulong)frame * (ulong)FrameSize;

    /// <summary>The bytes at a UMEM address (as found in a descriptor). No bounds check beyond Span's.</summary>
    public Span<byte> Frame(ulong address, int length) => new(Base + address, length);

    public void Dispose()
    {
        if (_handle == IntPtr.Zero)
            return;
        int status = XskImports.UmemDestroy(_handle);
        if (status < 0)
            NativeException.Throw(-status, "destroying the UMEM (close its sockets first)");
        _handle = IntPtr.Zero;
    }
}

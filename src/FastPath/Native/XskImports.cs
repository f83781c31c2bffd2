using System.Runtime.InteropServices;

namespace FastPath.Native;

/// <summary>fp_umem__* and fp_xsk__*: AF_XDP set-up and wake-ups (native/shim/fp_xsk.c).</summary>
internal static unsafe partial class XskImports
{
    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_umem__create")]
    internal static partial int UmemCreate(uint frameCount, uint frameSize, out IntPtr umem, out FpUmemInfo info);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_umem__destroy")]
    internal static partial int UmemDestroy(IntPtr umem);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_xsk__create")]
    internal static partial int Create(IntPtr umem, in FpXskConfig config, out IntPtr xsk, out FpXskInfo info);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_xsk__close")]
    internal static partial int Close(IntPtr xsk);

    // Kick/wake/poll run once per batch at most (only when the ring asks for it).
    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_xsk__kick_tx")]
    internal static partial int KickTx(int fd);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_xsk__wakeup")]
    internal static partial int WakeUp(int fd);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_xsk__poll")]
    internal static partial int Poll(int* fds, uint count, int timeoutMs);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_xsk__statistics")]
    internal static partial int Statistics(int fd, out FastPath.Xsk.XdpStatistics stats);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_xsk__register")]
    internal static partial int Register(int xsksFd, uint key, int xskFd);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_xsk__unregister")]
    internal static partial int Unregister(int xsksFd, uint key);
}

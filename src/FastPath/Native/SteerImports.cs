using System.Runtime.InteropServices;

namespace FastPath.Native;

/// <summary>fp_steer__* and fp_xdp__*: load/pin the steering object, attach XDP (native/shim/fp_bpf.c).</summary>
internal static unsafe partial class SteerImports
{
    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_steer__open", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string objectPath, string pinDir, out IntPtr steer, out FpSteerFds fds);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_steer__close")]
    internal static partial int Close(IntPtr steer);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_xdp__attach")]
    internal static partial int Attach(int ifindex, int progFd, int mode, out int usedMode, out int linkFd);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_xdp__detach")]
    internal static partial int Detach(int linkFd);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_dev__register")]
    internal static partial int RegisterDevice(int devSlotsFd, int ifindex, uint slot);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_prog__test_run")]
    internal static partial int TestRun(int progFd, byte* frame, uint length, int ingressIfindex, uint repeat,
        out uint action, out uint durationNs);
}

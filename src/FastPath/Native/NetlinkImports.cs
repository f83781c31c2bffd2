using System.Runtime.InteropServices;

namespace FastPath.Native;

/// <summary>fp_netlink__* and fp_nexthop__*: routes and neighbours over rtnetlink (native/shim/fp_netlink.c).</summary>
internal static unsafe partial class NetlinkImports
{
    /// <summary>Opens an rtnetlink socket in the calling thread's network namespace.</summary>
    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_netlink__open")]
    internal static partial int Open(out int fd);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_netlink__close")]
    internal static partial int Close(int fd);

    /// <summary>0 = resolved; -EAGAIN = resolution triggered, ask again; other -errno = no usable route.</summary>
    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_nexthop__resolve_at")]
    internal static partial int ResolveAt(int netlinkFd, int family, byte* destination16, out FpNextHop result);
}

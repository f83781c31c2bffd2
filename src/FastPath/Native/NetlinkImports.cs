using System.Runtime.InteropServices;
using FastPath.Addressing;

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

    /// <summary>Opens a socket joined to the kernel's neighbour events (RTNLGRP_NEIGH) in the calling
    /// thread's network namespace, and an eventfd that wakes its waiter.</summary>
    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_neigh_events__open")]
    internal static partial int OpenNeighbourEvents(out int fd, out int wakeFd);

    /// <summary>Blocks until neighbours became usable and writes their addresses (count returned; 0 on
    /// timeout or events of no use), -ECANCELED after <see cref="WakeNeighbourEvents"/>, -ENOBUFS if
    /// the kernel dropped events, other -errno.</summary>
    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_neigh_events__wait")]
    internal static partial int WaitNeighbourEvents(int fd, int wakeFd, int timeoutMs, NetAddress* addresses, int max);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_neigh_events__wake")]
    internal static partial int WakeNeighbourEvents(int wakeFd);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_neigh_events__close")]
    internal static partial int CloseNeighbourEvents(int fd, int wakeFd);
}

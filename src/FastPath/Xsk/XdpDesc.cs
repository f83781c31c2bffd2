using System.Runtime.InteropServices;

namespace FastPath.Xsk;

/// <summary>struct xdp_desc (linux/if_xdp.h): one RX or TX ring entry, 16 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct XdpDesc
{
    /// <summary>Offset of the packet in the UMEM (frame start + headroom).</summary>
    public ulong Addr;
    /// <summary>Packet length in bytes.</summary>
    public uint Len;
    /// <summary>XDP_PKT_CONTD etc.; 0 for single-buffer packets.</summary>
    public uint Options;
}

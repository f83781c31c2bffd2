using System.Runtime.InteropServices;

namespace FastPath.Native;

// Blittable mirrors of native/include/fp_structs.h. Sizes and offsets are asserted in C
// (_Static_assert) and in tests/FastPath.Tests/NativeLayoutTests.cs; change all three together.

/// <summary>struct fp_ring_info: one mapped AF_XDP ring (addresses as u64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FpRingInfo
{
    public ulong Producer;
    public ulong Consumer;
    public ulong Flags;
    public ulong Descs;
    public uint Size;
    public uint Mask;
}

/// <summary>struct fp_xsk_config: input of fp_xsk__create.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FpXskConfig
{
    public int Ifindex;
    public uint Queue;
    public uint RxSize;
    public uint TxSize;
    public uint FillSize;
    public uint CompSize;
    public uint BindMode;
    public uint Pad;
}

/// <summary>struct fp_xsk_info: a socket's fd and its four rings.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FpXskInfo
{
    public int Fd;
    public uint Pad;
    public FpRingInfo Rx;
    public FpRingInfo Tx;
    public FpRingInfo Fill;
    public FpRingInfo Comp;
}

/// <summary>struct fp_umem_info.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FpUmemInfo
{
    public ulong Base;
    public ulong Size;
    public uint FrameSize;
    public uint FrameCount;
}

/// <summary>struct fp_steer_fds: fds of the loaded program and its maps.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FpSteerFds
{
    public int Prog;
    public int Services;
    public int Flows;
    public int Xsks;
    public int DevSlots;
    public int Counters;
}

/// <summary>struct fp_nexthop: result of fp_nexthop__resolve. Pack = 4 because C's fp_addr is
/// byte-aligned (Gateway at 20) while NetAddress would align to 8.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal unsafe struct FpNextHop
{
    public int Ifindex;
    public ushort NudState;
    public byte HasGateway;
    public byte Pad;
    public fixed byte SourceMac[6];
    public fixed byte DestinationMac[6];
    public FastPath.Addressing.NetAddress Gateway;
}

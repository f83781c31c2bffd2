using System.Runtime.InteropServices;
using FastPath.Addressing;

namespace FastPath.Native;

/// <summary>
/// Key of fp_services (struct fp_service_key, 20 bytes): a frontend the XDP program steers to
/// AF_XDP. The layout is a contract with native/include/fp_structs.h (NativeLayoutTests).
/// NetAddress is 8-byte aligned in C# but fp_addr is byte-aligned in C, so Pack = 4 keeps the
/// size at 20 (no tail padding) and the stride of key arrays equal to C's.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct ServiceMapKey : IEquatable<ServiceMapKey>
{
    public NetAddress Address;
    /// <summary>Port in network order as it sits in memory (the wire's two bytes).</summary>
    public ushort PortRaw;
    public byte Protocol;
    /// <summary>Must stay 0: the kernel hashes every key byte.</summary>
    public byte Pad;

    public ServiceMapKey(NetAddress address, ushort portHostOrder, L4Protocol protocol)
    {
        Address = address;
        PortRaw = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(portHostOrder);
        Protocol = (byte)protocol;
        Pad = 0;
    }

    public readonly bool Equals(ServiceMapKey other) =>
        Address == other.Address && PortRaw == other.PortRaw && Protocol == other.Protocol && Pad == other.Pad;
    public override readonly bool Equals(object? obj) => obj is ServiceMapKey k && Equals(k);
    public override readonly int GetHashCode() => HashCode.Combine(Address, PortRaw, Protocol);
}

/// <summary>Value of fp_services (struct fp_service_value); flags reserved, 0.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ServiceMapValue
{
    public uint Flags;
}

/// <summary>Value of fp_flows (struct fp_flow_value); flags reserved, 0.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FlowMapValue
{
    public uint Flags;
}

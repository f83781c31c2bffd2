namespace FastPath.Maglev;

/// <summary>
/// The per-flow Maglev lookup hash (SPEC §8): which table slot a client's flow lands in.
/// PLACEHOLDER signatures pinned for the pipeline; the Maglev work replaces the bodies.
/// "Raw" values are the bytes of the header fields read as little-endian integers, i.e.
/// exactly what a BPF program on x86 gets when it loads the network-order field.
/// </summary>
public static class MaglevHash
{
    /// <summary>Slot hash for an IPv4 flow (take it modulo the table size).</summary>
    public static uint LookupV4(uint clientAddressRaw, ushort servicePortRaw, ushort clientPortRaw, byte protocol, uint seed)
        => throw new NotImplementedException();

    /// <summary>Slot hash for an IPv6 flow (take it modulo the table size).</summary>
    public static uint LookupV6(in FastPath.Addressing.NetAddress clientAddress, ushort servicePortRaw, ushort clientPortRaw, byte protocol, uint seed)
        => throw new NotImplementedException();
}

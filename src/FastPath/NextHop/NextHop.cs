using System.Runtime.InteropServices;

namespace FastPath.NextHop;

/// <summary>A 48-bit Ethernet address, stored in 6 bytes so it copies into frames directly.</summary>
[StructLayout(LayoutKind.Sequential, Size = 6)]
public unsafe struct MacAddress : IEquatable<MacAddress>
{
    private fixed byte _bytes[6];

    public static MacAddress FromBytes(ReadOnlySpan<byte> six)
    {
        MacAddress mac = default;
        six.Slice(0, 6).CopyTo(MemoryMarshal.AsBytes(new Span<MacAddress>(ref mac)));
        return mac;
    }

    public readonly void CopyTo(Span<byte> destination)
    {
        fixed (byte* p = _bytes)
            new ReadOnlySpan<byte>(p, 6).CopyTo(destination);
    }

    public static MacAddress Parse(string text)
    {
        var parts = text.Split(':');
        if (parts.Length != 6)
            throw new FormatException($"'{text}' is not a MAC address (expected six hex octets separated by ':')");
        Span<byte> bytes = stackalloc byte[6];
        for (int i = 0; i < 6; i++)
            bytes[i] = Convert.ToByte(parts[i], 16);
        return FromBytes(bytes);
    }

    public readonly bool Equals(MacAddress other)
    {
        fixed (byte* a = _bytes)
            return new ReadOnlySpan<byte>(a, 6).SequenceEqual(new ReadOnlySpan<byte>(other._bytes, 6));
    }

    public override readonly bool Equals(object? obj) => obj is MacAddress other && Equals(other);
    public override readonly int GetHashCode()
    {
        fixed (byte* a = _bytes)
            return (int)(*(uint*)a ^ *(ushort*)(a + 4));
    }

    public override readonly string ToString()
    {
        fixed (byte* a = _bytes)
            return $"{a[0]:x2}:{a[1]:x2}:{a[2]:x2}:{a[3]:x2}:{a[4]:x2}:{a[5]:x2}";
    }
}

/// <summary>Where a packet for one destination leaves: egress device slot and the MACs to write.</summary>
/// <param name="DeviceSlot">Index of the attached device (the agent's device table), 0-based.</param>
public readonly record struct NextHop(int DeviceSlot, MacAddress Source, MacAddress Destination);

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastPath.NextHop;

/// <summary>
/// A 48-bit Ethernet address held in the low 6 bytes of a ulong (wire order in memory), so the
/// fast path copies and compares it as one or two plain loads and stores.
/// </summary>
public readonly struct MacAddress : IEquatable<MacAddress>
{
    private readonly ulong _value;

    private MacAddress(ulong value) => _value = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MacAddress FromBytes(ReadOnlySpan<byte> six) =>
        new(MemoryMarshal.Read<uint>(six) | ((ulong)MemoryMarshal.Read<ushort>(six.Slice(4)) << 32));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CopyTo(Span<byte> destination)
    {
        MemoryMarshal.Write(destination, (uint)_value);
        MemoryMarshal.Write(destination.Slice(4), (ushort)(_value >> 32));
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

    public bool Equals(MacAddress other) => _value == other._value;
    public override bool Equals(object? obj) => obj is MacAddress other && Equals(other);
    public override int GetHashCode() => _value.GetHashCode();

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[6];
        CopyTo(b);
        return $"{b[0]:x2}:{b[1]:x2}:{b[2]:x2}:{b[3]:x2}:{b[4]:x2}:{b[5]:x2}";
    }
}

/// <summary>Where a packet for one destination leaves: egress device slot and the MACs to write.</summary>
/// <param name="DeviceSlot">Index of the attached device (the agent's device table), 0-based.</param>
public readonly record struct NextHop(int DeviceSlot, MacAddress Source, MacAddress Destination);

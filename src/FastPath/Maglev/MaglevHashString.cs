using System.Buffers.Binary;
using System.Globalization;
using FastPath.Addressing;

namespace FastPath.Maglev;

/// <summary>
/// Formats a backend's Maglev hash string as ASCII bytes, allocation-free:
/// <c>[ip:port/PROTO,State:active]</c>, IPv6 as <c>[[ip]:port/PROTO,State:active]</c>.
///
/// MUST NEVER CHANGE: the string seeds each backend's permutation (MurmurHash3) and fixes the
/// sort order, so any difference (a letter's case, IPv6 zero compression) gives a different
/// table than Cilium's and moves flows between backends in a mixed mesh. This reproduces
/// Cilium's pkg/maglev BackendInfo.setHashString: the address as Go's netip.Addr.String()
/// prints it (dotted IPv4; RFC 5952 IPv6: lower-case hex, the first longest run of ≥ 2 zero
/// groups shown as "::"), the decimal port, the upper-case protocol, then ",State:active"
/// (constant whatever the backend's state). Cilium's "/i" suffix for internal-scope addresses
/// and "@clusterid" for cluster-scoped addresses do not occur for FastPath's backends.
/// </summary>
internal static class MaglevHashString
{
    /// <summary>Longest possible string: "[[" + 39 (IPv6) + "]:" + 5 (port) + "/" + 4 + ",State:active]".</summary>
    public const int MaxBytes = 72;

    private static ReadOnlySpan<byte> StateSuffix => ",State:active]"u8;
    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    /// <summary>Writes the string into <paramref name="destination"/> (≥ <see cref="MaxBytes"/>) and returns its length.</summary>
    public static int Write(in MaglevBackend backend, Span<byte> destination)
    {
        int n = 0;
        destination[n++] = (byte)'[';
        if (backend.Address.IsV4)
        {
            n += WriteV4(backend.Address.V4HostOrder, destination.Slice(n));
            destination[n++] = (byte)':';
        }
        else
        {
            destination[n++] = (byte)'[';
            n += WriteV6(backend.Address, destination.Slice(n));
            destination[n++] = (byte)']';
            destination[n++] = (byte)':';
        }
        n += WriteDecimal(backend.Port, destination.Slice(n));
        destination[n++] = (byte)'/';
        n += WriteProtocol(backend.Protocol, destination.Slice(n));
        StateSuffix.CopyTo(destination.Slice(n));
        return n + StateSuffix.Length;
    }

    private static int WriteV4(uint hostOrder, Span<byte> destination)
    {
        int n = 0;
        for (int shift = 24; shift >= 0; shift -= 8)
        {
            n += WriteDecimal((hostOrder >> shift) & 0xff, destination.Slice(n));
            if (shift != 0)
                destination[n++] = (byte)'.';
        }
        return n;
    }

    private static int WriteV6(in NetAddress address, Span<byte> destination)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.WriteBytes(bytes);
        Span<ushort> groups = stackalloc ushort[8];
        for (int g = 0; g < 8; g++)
            groups[g] = BinaryPrimitives.ReadUInt16BigEndian(bytes.Slice(g * 2));

        // The first longest run of at least two zero groups becomes "::" (Go and RFC 5952 agree).
        int zeroStart = -1, zeroEnd = -1;
        for (int i = 0; i < 8; i++)
        {
            int j = i;
            while (j < 8 && groups[j] == 0)
                j++;
            if (j - i >= 2 && j - i > zeroEnd - zeroStart)
            {
                zeroStart = i;
                zeroEnd = j;
            }
        }

        int n = 0;
        for (int i = 0; i < 8; i++)
        {
            if (i == zeroStart)
            {
                destination[n++] = (byte)':';
                destination[n++] = (byte)':';
                i = zeroEnd;
                if (i >= 8)
                    break;
            }
            else if (i > 0)
            {
                destination[n++] = (byte)':';
            }
            n += WriteHex(groups[i], destination.Slice(n));
        }
        return n;
    }

    private static int WriteHex(ushort value, Span<byte> destination)
    {
        int n = 0;
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4)
        {
            int digit = (value >> shift) & 0xf;
            if (digit == 0 && !started && shift != 0)
                continue;
            started = true;
            destination[n++] = HexDigits[digit];
        }
        return n;
    }

    private static int WriteDecimal(uint value, Span<byte> destination)
    {
        // Plain ASCII digits, no sign or separators: what Go's strconv prints for a uint.
        value.TryFormat(destination, out int written, default, CultureInfo.InvariantCulture);
        return written;
    }

    private static int WriteProtocol(L4Protocol protocol, Span<byte> destination)
    {
        ReadOnlySpan<byte> name = protocol switch
        {
            L4Protocol.Tcp => "TCP"u8,
            L4Protocol.Udp => "UDP"u8,
            L4Protocol.Sctp => "SCTP"u8,
            _ => "ANY"u8,
        };
        name.CopyTo(destination);
        return name.Length;
    }
}

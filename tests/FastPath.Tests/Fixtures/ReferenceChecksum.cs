using System.Buffers.Binary;

namespace FastPath.Tests.Fixtures;

/// <summary>
/// RFC 1071 checksum written the plain way (byte arrays, big-endian words), independent of
/// FastPath.Packets.Checksum, so tests compare the fast path against something it does not share.
/// </summary>
public static class ReferenceChecksum
{
    public static ushort Compute(ReadOnlySpan<byte> data)
    {
        ulong sum = 0;
        for (int i = 0; i < data.Length; i += 2)
        {
            int hi = data[i];
            int lo = i + 1 < data.Length ? data[i + 1] : 0;
            sum += (ulong)((hi << 8) | lo);
        }
        while ((sum >> 16) != 0)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>TCP/UDP checksum over pseudo-header + segment (checksum field must be zeroed in <paramref name="segment"/>).</summary>
    public static ushort L4(ReadOnlySpan<byte> sourceAddress, ReadOnlySpan<byte> destinationAddress, byte protocol, ReadOnlySpan<byte> segment)
    {
        var buffer = new List<byte>();
        buffer.AddRange(sourceAddress.ToArray());
        buffer.AddRange(destinationAddress.ToArray());
        if (sourceAddress.Length == 4)
        {
            buffer.Add(0);
            buffer.Add(protocol);
            buffer.Add((byte)(segment.Length >> 8));
            buffer.Add((byte)segment.Length);
        }
        else
        {
            buffer.AddRange(new byte[] { (byte)(segment.Length >> 24), (byte)(segment.Length >> 16), (byte)(segment.Length >> 8), (byte)segment.Length, 0, 0, 0, protocol });
        }
        buffer.AddRange(segment.ToArray());
        ushort result = Compute(buffer.ToArray());
        return protocol == 17 && result == 0 ? (ushort)0xFFFF : result;
    }

    /// <summary>
    /// Recomputes and compares every checksum in a well-formed frame built by <see cref="FrameSpec"/>
    /// (Ethernet [+VLAN], IPv4/IPv6 [+ options / hop-by-hop], TCP/UDP). Returns a description of
    /// the first mismatch, or null when all are correct.
    /// </summary>
    public static string? FindChecksumError(ReadOnlySpan<byte> frame)
    {
        int l3 = 14;
        ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(12));
        if (etherType is 0x8100 or 0x88A8)
        {
            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(16));
            l3 = 18;
        }
        byte protocol;
        int l4;
        int l4Length;
        byte[] src, dst;
        if (etherType == 0x0800)
        {
            int ihl = (frame[l3] & 0xF) * 4;
            if (Compute(frame.Slice(l3, ihl)) != 0)
                return "IPv4 header checksum";
            int total = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(l3 + 2));
            protocol = frame[l3 + 9];
            src = frame.Slice(l3 + 12, 4).ToArray();
            dst = frame.Slice(l3 + 16, 4).ToArray();
            l4 = l3 + ihl;
            l4Length = total - ihl;
        }
        else
        {
            int payload = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(l3 + 4));
            protocol = frame[l3 + 6];
            src = frame.Slice(l3 + 8, 16).ToArray();
            dst = frame.Slice(l3 + 24, 16).ToArray();
            l4 = l3 + 40;
            l4Length = payload;
            if (protocol == 0)
            {
                protocol = frame[l4];
                int extension = (frame[l4 + 1] + 1) * 8;
                l4 += extension;
                l4Length -= extension;
            }
        }
        byte[] segment = frame.Slice(l4, l4Length).ToArray();
        int checksumOffset = protocol == 6 ? 16 : 6;
        ushort carried = BinaryPrimitives.ReadUInt16BigEndian(segment.AsSpan(checksumOffset));
        if (protocol == 17 && carried == 0 && src.Length == 4)
            return null; // IPv4 UDP without checksum
        segment[checksumOffset] = 0;
        segment[checksumOffset + 1] = 0;
        ushort expected = L4(src, dst, protocol, segment);
        return carried == expected ? null : $"L4 checksum 0x{carried:x4}, expected 0x{expected:x4}";
    }
}

using FastPath.Addressing;
using FastPath.NextHop;
using FastPath.Packets;
using FastPath.Pipeline;

namespace FastPath.Tests.Fixtures;

/// <summary>Reads back what a test needs to assert about a (rewritten) frame.</summary>
public readonly record struct FrameView(NetAddress Source, ushort SourcePort, NetAddress Destination, ushort DestinationPort,
    MacAddress SourceMac, MacAddress DestinationMac)
{
    public static FrameView Of(byte[] frame)
    {
        DropReason reason = PacketParser.Parse(frame, out ParsedPacket p);
        if (reason != DropReason.None)
            throw new InvalidOperationException($"frame does not parse: {reason.ToName()}");
        return new FrameView(p.Source, System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(p.SourcePortRaw),
            p.Destination, System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(p.DestinationPortRaw),
            MacAddress.FromBytes(frame.AsSpan(6, 6)), MacAddress.FromBytes(frame.AsSpan(0, 6)));
    }
}

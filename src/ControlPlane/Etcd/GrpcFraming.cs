using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

namespace FastPath.ControlPlane.Etcd;

/// <summary>
/// gRPC's length-prefixed message framing over HTTP/2: 1 byte compressed flag, 4 bytes
/// big-endian length, then the protobuf. We never negotiate compression, so a set flag is an error.
/// </summary>
internal static class GrpcFraming
{
    public const int HeaderBytes = 5;

    /// <summary>A frame bigger than this is treated as a protocol error (etcd's default max request is 1.5 MiB; responses of a big Range can be larger).</summary>
    public const int MaxMessageBytes = 64 * 1024 * 1024;

    public static byte[] Frame(IMessage message)
    {
        int size = message.CalculateSize();
        var buffer = new byte[HeaderBytes + size];
        buffer[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(1, 4), (uint)size);
        message.WriteTo(buffer.AsSpan(HeaderBytes));
        return buffer;
    }

    /// <summary>
    /// Cuts one complete frame off the front of <paramref name="buffer"/> without copying it.
    /// Returns false when more bytes are needed.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> payload)
    {
        payload = default;
        if (buffer.Length < HeaderBytes)
            return false;
        Span<byte> header = stackalloc byte[HeaderBytes];
        buffer.Slice(0, HeaderBytes).CopyTo(header);
        if (header[0] != 0)
            throw new InvalidDataException("gRPC frame is compressed but no compression was negotiated");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > MaxMessageBytes)
            throw new InvalidDataException($"gRPC frame of {length} bytes exceeds the {MaxMessageBytes}-byte limit");
        if (buffer.Length < HeaderBytes + length)
            return false;
        payload = buffer.Slice(HeaderBytes, length);
        buffer = buffer.Slice(HeaderBytes + length);
        return true;
    }
}

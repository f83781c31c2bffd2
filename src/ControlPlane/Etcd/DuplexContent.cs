using System.Net;
using System.Threading.Channels;

namespace FastPath.ControlPlane.Etcd;

/// <summary>
/// A request body that stays open: frames queued with <see cref="Send"/> are written and flushed
/// one by one until <see cref="Complete"/>. This is what makes an HTTP/2 request a client stream.
/// </summary>
internal sealed class DuplexContent : HttpContent
{
    private readonly Channel<byte[]> _frames = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });

    public bool Send(byte[] frame) => _frames.Writer.TryWrite(frame);

    public void Complete() => _frames.Writer.TryComplete();

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        // Flush the (empty) headers first so SendAsync can return before any request is queued.
        await stream.FlushAsync().ConfigureAwait(false);
        await foreach (byte[] frame in _frames.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            await stream.WriteAsync(frame).ConfigureAwait(false);
            await stream.FlushAsync().ConfigureAwait(false);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}

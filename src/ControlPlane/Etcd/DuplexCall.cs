using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;

namespace FastPath.ControlPlane.Etcd;

/// <summary>One open bidirectional gRPC call: send request frames, read response messages from a PipeReader.</summary>
internal sealed class DuplexCall : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly string _method;
    private readonly HttpRequestMessage _request;
    private readonly HttpResponseMessage _response;
    private readonly DuplexContent _content;
    private readonly PipeReader _reader;

    public DuplexCall(GrpcChannel channel, string method, HttpRequestMessage request, HttpResponseMessage response,
        DuplexContent content, PipeReader reader)
    {
        _channel = channel;
        _method = method;
        _request = request;
        _response = response;
        _content = content;
        _reader = reader;
    }

    public void Send(IMessage message)
    {
        if (!_content.Send(GrpcFraming.Frame(message)))
            throw _channel.Fail(_method, "request stream already closed");
    }

    /// <summary>Reads the next message, or null when the server ended the stream with status OK.</summary>
    public async ValueTask<T?> ReadAsync<T>(MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        try
        {
            while (true)
            {
                ReadResult result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                if (GrpcFraming.TryReadFrame(ref buffer, out ReadOnlySequence<byte> payload))
                {
                    // Parse straight from the pipe's segments, then release exactly what was consumed.
                    T message = parser.ParseFrom(payload);
                    _reader.AdvanceTo(buffer.Start);
                    return message;
                }
                _reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                        throw _channel.Fail(_method, "stream ended inside a message");
                    _channel.CheckGrpcStatus(_method, _response);
                    return null;
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or InvalidDataException or InvalidProtocolBufferException)
        {
            throw _channel.Fail(_method, e.InnerException is null ? e.Message : $"{e.Message} -> {e.InnerException.Message}", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _content.Complete();
        await _reader.CompleteAsync().ConfigureAwait(false);
        _response.Dispose();
        _request.Dispose();
    }
}

using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace FastPath.ControlPlane.Etcd;

/// <summary>
/// gRPC over HTTP/2 on SocketsHttpHandler (Grpc.Net.Client is not available to us): unary calls
/// and the bidirectional Watch stream. One HTTP/2 connection per endpoint; calls are streams on it.
/// </summary>
internal sealed class GrpcChannel : IDisposable
{
    private static readonly MediaTypeHeaderValue GrpcContentType = new("application/grpc");

    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly TimeSpan _requestTimeout;

    public GrpcChannel(EtcdConfig config, Uri endpoint, EtcdClientOptions options)
    {
        _endpoint = endpoint;
        Endpoint = endpoint.ToString().TrimEnd('/');
        ConfigFile = config.SourceFile;
        _requestTimeout = options.RequestTimeout;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.DialTimeout,
            // HTTP/2 pings notice a dead peer (killed etcd, dropped link) on an idle watch stream.
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = false,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        if (endpoint.Scheme == Uri.UriSchemeHttps)
            handler.SslOptions = EtcdTls.Create(config);
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public string Endpoint { get; }
    public string? ConfigFile { get; }

    public async Task<TResponse> UnaryAsync<TResponse>(string method, IMessage request, MessageParser<TResponse> parser,
        CancellationToken cancellationToken)
        where TResponse : IMessage<TResponse>
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_requestTimeout);
        using HttpRequestMessage message = NewRequest(method, new ByteArrayContent(GrpcFraming.Frame(request)));
        try
        {
            using HttpResponseMessage response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            CheckHttpStatus(method, response);
            byte[] body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            CheckGrpcStatus(method, response);
            var sequence = new ReadOnlySequence<byte>(body);
            if (!GrpcFraming.TryReadFrame(ref sequence, out ReadOnlySequence<byte> payload))
                throw Fail(method, "response carried no message");
            return parser.ParseFrom(payload);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Fail(method, $"no answer within {_requestTimeout.TotalSeconds:0.#} s", e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or InvalidDataException or InvalidProtocolBufferException)
        {
            throw Fail(method, Describe(e), e);
        }
    }

    /// <summary>
    /// Opens a duplex call: requests are written while responses stream back. grpc-go sends the
    /// response headers only with its first message, so the first requests must be queued before
    /// waiting for headers (<paramref name="initial"/>), or both sides wait for each other.
    /// </summary>
    public async Task<DuplexCall> OpenDuplexAsync(string method, IEnumerable<IMessage> initial, CancellationToken cancellationToken)
    {
        var content = new DuplexContent();
        foreach (IMessage request in initial)
            content.Send(GrpcFraming.Frame(request));
        var message = NewRequest(method, content);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_requestTimeout);
        try
        {
            // Returns once response headers arrive, while the request body stays open.
            HttpResponseMessage response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            CheckHttpStatus(method, response);
            Stream stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new DuplexCall(this, method, message, response, content, PipeReader.Create(stream));
        }
        catch (Exception e) when (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            content.Complete();
            message.Dispose();
            throw Fail(method, $"no answer within {_requestTimeout.TotalSeconds:0.#} s", e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            content.Complete();
            message.Dispose();
            throw Fail(method, Describe(e), e);
        }
    }

    private HttpRequestMessage NewRequest(string method, HttpContent content)
    {
        content.Headers.ContentType = GrpcContentType;
        var message = new HttpRequestMessage(HttpMethod.Post, new Uri(_endpoint, method))
        {
            Version = HttpVersion.Version20,
            // h2c prior knowledge for http://, ALPN h2 for https://; never fall back to HTTP/1.1.
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        message.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        return message;
    }

    internal void CheckHttpStatus(string method, HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK)
            throw Fail(method, $"HTTP status {(int)response.StatusCode}");
        // A "trailers-only" reply carries grpc-status in the headers: an immediate error.
        CheckStatusIn(method, response.Headers);
    }

    internal void CheckGrpcStatus(string method, HttpResponseMessage response)
    {
        if (!CheckStatusIn(method, response.TrailingHeaders) && !response.Headers.Contains("grpc-status"))
            throw Fail(method, "stream ended without grpc-status");
    }

    private bool CheckStatusIn(string method, HttpHeaders headers)
    {
        if (!headers.TryGetValues("grpc-status", out IEnumerable<string>? values))
            return false;
        string status = values.FirstOrDefault() ?? "";
        if (status == "0")
            return true;
        string detail = headers.TryGetValues("grpc-message", out IEnumerable<string>? messages)
            ? Uri.UnescapeDataString(messages.FirstOrDefault() ?? "")
            : "";
        int? code = int.TryParse(status, out int c) ? c : null;
        throw new EtcdException($"etcd {Endpoint}{ConfigSuffix}: {method} failed: gRPC status {status} {detail}".TrimEnd(),
            Endpoint, ConfigFile, code);
    }

    internal EtcdException Fail(string method, string what, Exception? inner = null) =>
        new($"etcd {Endpoint}{ConfigSuffix}: {method} failed: {what}", Endpoint, ConfigFile, inner: inner);

    private string ConfigSuffix => ConfigFile is null ? "" : $" (config {ConfigFile})";

    private static string Describe(Exception e)
    {
        // The innermost message is the useful one (e.g. a TLS handshake or connection-refused detail).
        string text = e.Message;
        for (Exception? inner = e.InnerException; inner is not null; inner = inner.InnerException)
            text += " -> " + inner.Message;
        return text;
    }

    public void Dispose() => _http.Dispose();
}

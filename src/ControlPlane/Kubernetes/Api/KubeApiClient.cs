using System.Buffers;
using System.IO.Pipelines;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FastPath.ControlPlane.Tls;

namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>
/// The two API calls the agent needs, on HttpClient + System.Text.Json: a paginated list
/// (<c>?limit=N&amp;continue=TOKEN</c>) and a watch (<c>?watch=1&amp;resourceVersion=RV&amp;allowWatchBookmarks=true</c>)
/// whose chunked body is read incrementally, one JSON event per line, through a <see cref="PipeReader"/>.
/// Errors become <see cref="KubeApiException"/> naming the server and the path, with the HTTP status.
/// </summary>
public sealed class KubeApiClient : IDisposable
{
    /// <summary>Longest watch line accepted, in bytes: a larger "event" is a broken stream, not an object.</summary>
    public const int MaxEventBytes = 16 * 1024 * 1024;

    /// <summary>Time allowed for one list page, including the body.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly KubeClientConfig _config;
    private readonly TimeSpan _requestTimeout;

    public KubeApiClient(KubeClientConfig config, TimeSpan? requestTimeout = null)
    {
        _config = config;
        _requestTimeout = requestTimeout ?? DefaultRequestTimeout;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            SslOptions = Tls(config),
        };
        // Watches last minutes: each call sets its own deadline instead.
        _http = new HttpClient(handler) { BaseAddress = config.Server, Timeout = Timeout.InfiniteTimeSpan };
    }

    public Uri Server => _config.Server;

    /// <summary>Lists every object of a resource, page by page. A 410 here means a continue token expired: the
    /// caller re-lists from the start.</summary>
    public async Task<KubeList> ListAsync(KubeResource resource, int pageSize, CancellationToken cancellationToken)
    {
        var items = new List<JsonElement>();
        string? continueToken = null;
        string resourceVersion = "";
        int pages = 0;
        do
        {
            string query = $"?limit={pageSize}" + (continueToken is null ? "" : $"&continue={Uri.EscapeDataString(continueToken)}");
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(_requestTimeout);
            using var response = await SendAsync(resource.Path + query, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
            await using var body = await response.Content.ReadAsStreamAsync(deadline.Token).ConfigureAwait(false);
            using var document = await JsonDocument.ParseAsync(body, cancellationToken: deadline.Token).ConfigureAwait(false);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new KubeApiException($"API server {Server}: GET {resource.Path}: expected a list object");
            if (root.TryGetProperty("items", out var list) && list.ValueKind == JsonValueKind.Array)
                foreach (var item in list.EnumerateArray())
                    items.Add(item.Clone());
            continueToken = null;
            if (root.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object)
            {
                if (metadata.TryGetProperty("resourceVersion", out var rv) && rv.ValueKind == JsonValueKind.String)
                    resourceVersion = rv.GetString()!;
                if (metadata.TryGetProperty("continue", out var next) && next.ValueKind == JsonValueKind.String && next.GetString() is { Length: > 0 } token)
                    continueToken = token;
            }
            pages++;
        }
        while (continueToken is not null);
        return new KubeList(items, resourceVersion, pages);
    }

    /// <summary>
    /// Watches a resource from <paramref name="resourceVersion"/> until the server ends the stream (after
    /// <paramref name="timeoutSeconds"/>), the connection drops (<see cref="IOException"/> or
    /// <see cref="HttpRequestException"/>) or the caller cancels. Bad lines come back as
    /// <see cref="WatchEventType.Malformed"/> events; the stream goes on after them.
    /// </summary>
    public async IAsyncEnumerable<WatchEvent> WatchAsync(
        KubeResource resource, string resourceVersion, int timeoutSeconds,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string query = $"?watch=1&resourceVersion={Uri.EscapeDataString(resourceVersion)}&allowWatchBookmarks=true&timeoutSeconds={timeoutSeconds}";
        using var response = await SendAsync(resource.Path + query, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var reader = PipeReader.Create(body, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                while (TryReadLine(ref buffer, out ReadOnlySequence<byte> line))
                {
                    if (IsBlank(line))
                        continue;
                    yield return WatchEvent.Parse(line);
                }
                if (buffer.Length > MaxEventBytes)
                    throw new IOException($"watch {resource.Path}: an event line exceeds {MaxEventBytes} bytes");
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    // A last line without '\n' is the tail of a cut stream, not an event.
                    if (!buffer.IsEmpty && !IsBlank(buffer))
                        throw new IOException($"watch {resource.Path}: stream ended inside an event");
                    yield break;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(string pathAndQuery, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (_config.Token.Current() is { } token)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new KubeApiException($"API server {Server}: GET {PathOnly(pathAndQuery)}: {e.Message}", e);
        }
        if (response.IsSuccessStatusCode)
            return response;
        using (response)
        {
            string detail = await StatusMessageAsync(response, cancellationToken).ConfigureAwait(false);
            int code = (int)response.StatusCode;
            string hint = response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => " (the token or client certificate is not accepted)",
                HttpStatusCode.Forbidden => " (the service account needs get/list/watch on this resource: see the ClusterRole)",
                HttpStatusCode.NotFound => " (is the resource's CRD installed?)",
                _ => "",
            };
            throw new KubeApiException(
                $"API server {Server}: GET {PathOnly(pathAndQuery)}: {code} {response.ReasonPhrase}{detail}{hint}", statusCode: code);
        }
    }

    /// <summary>The <c>message</c> of a <c>kind: Status</c> error body, if there is one.</summary>
    private static async Task<string> StatusMessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            string text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            using var document = JsonDocument.Parse(text);
            return document.RootElement.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String
                ? $": {message.GetString()}"
                : "";
        }
        catch (Exception e) when (e is JsonException or IOException or HttpRequestException)
        {
            return "";
        }
    }

    private static string PathOnly(string pathAndQuery) => pathAndQuery.Split('?')[0];

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        SequencePosition? newline = buffer.PositionOf((byte)'\n');
        if (newline is null)
        {
            line = default;
            return false;
        }
        line = buffer.Slice(0, newline.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
        return true;
    }

    private static bool IsBlank(ReadOnlySequence<byte> line)
    {
        foreach (var segment in line)
            foreach (byte b in segment.Span)
                if (b is not ((byte)' ' or (byte)'\r' or (byte)'\t'))
                    return false;
        return true;
    }

    private static SslClientAuthenticationOptions Tls(KubeClientConfig config)
    {
        var options = new SslClientAuthenticationOptions();
        if (config.ClientCertificate is { } client)
            options.ClientCertificates = new X509CertificateCollection { client };
        if (config.InsecureSkipTlsVerify)
            options.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        else if (config.CertificateAuthorities is { } ca)
            options.RemoteCertificateValidationCallback = (_, certificate, _, errors) => PrivateCaValidation.ValidateServer(certificate, errors, ca);
        return options;
    }

    public void Dispose() => _http.Dispose();
}

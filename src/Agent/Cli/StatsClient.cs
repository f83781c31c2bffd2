using System.Net.Sockets;
using System.Text.Json;
using FastPath.Agent.Stats;

namespace FastPath.Agent.Cli;

/// <summary>The agent cannot be reached or answered badly; the message names the address tried.</summary>
internal sealed class AgentUnreachableException(string message) : Exception(message);

/// <summary>Reads the agent's stats endpoint for the CLI commands (<c>--server</c>).</summary>
internal sealed class StatsClient : IDisposable
{
    /// <summary>How long a one-shot request may take before the CLI gives up.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly HttpClient _http;

    public StatsClient(string server)
    {
        Server = server;
        BaseAddress = new Uri(server.Contains("://", StringComparison.Ordinal) ? server : "http://" + server);
        _http = new HttpClient { BaseAddress = BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
    }

    public string Server { get; }
    public Uri BaseAddress { get; }

    public T Get<T>(string path)
    {
        string body = GetText(path);
        try
        {
            return JsonSerializer.Deserialize<T>(body, ApiJson.Options)
                ?? throw new AgentUnreachableException($"agent at {BaseAddress} answered an empty document for {path}");
        }
        catch (JsonException e)
        {
            throw Unreachable(path, e);
        }
    }

    /// <summary>The body of <paramref name="path"/> as text (e.g. /metrics, Prometheus text format).</summary>
    public string GetText(string path)
    {
        using var timeout = new CancellationTokenSource(RequestTimeout);
        try
        {
            using var response = _http.GetAsync(path, timeout.Token).GetAwaiter().GetResult();
            string body = response.Content.ReadAsStringAsync(timeout.Token).GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode)
                throw new AgentUnreachableException($"agent at {BaseAddress} answered {(int)response.StatusCode} for {path}: {body.Trim()}");
            return body;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or OperationCanceledException)
        {
            throw Unreachable(path, e);
        }
    }

    /// <summary>Streams JSON lines from <paramref name="path"/> until <paramref name="cancel"/> fires or the agent closes.</summary>
    public IEnumerable<T> Stream<T>(string path, CancellationToken cancel)
    {
        Stream body;
        try
        {
            var response = _http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, cancel).GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode)
                throw new AgentUnreachableException($"agent at {BaseAddress} answered {(int)response.StatusCode} for {path}");
            body = response.Content.ReadAsStreamAsync(cancel).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is HttpRequestException or SocketException)
        {
            throw Unreachable(path, e);
        }
        using var reader = new StreamReader(body);
        while (!cancel.IsCancellationRequested)
        {
            string? line;
            try
            {
                line = reader.ReadLineAsync(cancel).AsTask().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                yield break;
            }
            if (line is null)
                yield break;
            if (line.Length == 0)
                continue;
            var item = JsonSerializer.Deserialize<T>(line, ApiJson.Options);
            if (item is not null)
                yield return item;
        }
    }

    private AgentUnreachableException Unreachable(string path, Exception e)
    {
        string why = e switch
        {
            OperationCanceledException => $"no answer within {RequestTimeout.TotalSeconds:0} s",
            JsonException j => $"unreadable answer ({j.Message})",
            _ => e.InnerException?.Message ?? e.Message,
        };
        return new AgentUnreachableException(
            $"cannot reach the fastpath agent at {BaseAddress} ({path}): {why}. Is `fastpath agent` running with --stats-address {Server}? (set --server)");
    }

    public void Dispose() => _http.Dispose();
}

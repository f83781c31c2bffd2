using System.Collections.Immutable;
using System.Text.Json;
using FastPath.ControlPlane.Kubernetes.Manifests;
using YamlDotNet.RepresentationModel;

namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>
/// List-then-watch of one resource, the informer pattern without a cache library:
/// <code>
///   list (all pages) ──► replace state, RV = list RV ──► watch from RV ──► ADDED/MODIFIED/DELETED update state,
///        ▲                                                    │            BOOKMARK only advances RV
///        └── 410 Gone (status or ERROR event) ────────────────┤
///                       dropped / failed ── backoff ──► watch again from the last RV
/// </code>
/// Objects are converted by the same decoders as manifest files (via <see cref="JsonToYaml"/>). A malformed
/// event is logged, counted and skipped: the object's last good version stays.
/// </summary>
internal sealed class ResourceWatcher<T>
    where T : class
{
    /// <summary>How long past the requested timeoutSeconds a silent watch is kept before it is abandoned.</summary>
    private static readonly TimeSpan WatchDeadlineGrace = TimeSpan.FromSeconds(30);

    private readonly KubeApiClient _client;
    private readonly KubeApiSourceOptions _options;
    private readonly Func<YamlMappingNode, ManifestLocation, T?> _decode;
    private readonly KubeApiCounterSet _counters;
    private readonly Action _changed;
    private ImmutableDictionary<(string Namespace, string Name), T> _objects = ImmutableDictionary<(string, string), T>.Empty;
    private string _resourceVersion = "";
    private bool _listed;
    private int _eventsThisWatch;

    /// <param name="decode">Shared object → model conversion; returns null for an object to ignore.
    /// Throws <see cref="ManifestFormatException"/> for an unusable one.</param>
    public ResourceWatcher(KubeResource resource, KubeApiClient client, KubeApiSourceOptions options,
        Func<YamlMappingNode, ManifestLocation, T?> decode, KubeApiCounterSet counters, Action changed)
    {
        Resource = resource;
        _client = client;
        _options = options;
        _decode = decode;
        _counters = counters;
        _changed = changed;
    }

    public KubeResource Resource { get; }

    /// <summary>The current objects by namespace ("" when cluster scoped) and name.</summary>
    public ImmutableDictionary<(string Namespace, string Name), T> Objects => Volatile.Read(ref _objects);

    /// <summary>The resource version the next watch starts from.</summary>
    public string ResourceVersion => Volatile.Read(ref _resourceVersion);

    /// <summary>Lists every object and replaces the state with them (objects absent from the list are gone).</summary>
    public async Task ListAsync(CancellationToken cancellationToken)
    {
        KubeList list;
        try
        {
            list = await _client.ListAsync(Resource, _options.PageSize, cancellationToken).ConfigureAwait(false);
        }
        catch (KubeApiException e) when (e.IsGone)
        {
            // A continue token expired between pages: start over once, from a fresh snapshot.
            list = await _client.ListAsync(Resource, _options.PageSize, cancellationToken).ConfigureAwait(false);
        }
        var builder = ImmutableDictionary.CreateBuilder<(string, string), T>();
        foreach (var item in list.Items)
        {
            if (Convert(item, out var key, out _) is { } value)
                builder[key] = value;
        }
        Volatile.Write(ref _objects, builder.ToImmutable());
        Volatile.Write(ref _resourceVersion, list.ResourceVersion);
        _listed = true;
        Interlocked.Increment(ref _counters.Lists);
        _changed();
    }

    /// <summary>Watches until cancelled: re-watches, re-lists and backs off as the header describes. Never throws
    /// except on cancellation.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = new ReconnectBackoff(_options.InitialBackoff, _options.MaxBackoff);
        bool firstWatch = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            _eventsThisWatch = 0;
            try
            {
                if (!_listed)
                    await ListAsync(cancellationToken).ConfigureAwait(false);
                if (!firstWatch)
                    Interlocked.Increment(ref _counters.WatchRestarts);
                firstWatch = false;
                await WatchOnceAsync(cancellationToken).ConfigureAwait(false);
                backoff.Reset(); // the server ended the watch (timeoutSeconds): watch again at once
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (KubeApiException e) when (e.IsGone)
            {
                Interlocked.Increment(ref _counters.GoneRelists);
                Log(ManifestLogLevel.Warning, $"watch {Resource}: resource version {ResourceVersion} too old (410 Gone); re-listing");
                bool progressed = _eventsThisWatch > 0;
                _listed = false;
                // Re-list at once, unless the fresh list's version was already too old (then the server needs a moment).
                if (!progressed)
                    await DelayAsync(backoff.Next(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or JsonException or OperationCanceledException)
            {
                Interlocked.Increment(ref _counters.Errors);
                if (_eventsThisWatch > 0)
                    backoff.Reset();
                TimeSpan delay = backoff.Next();
                Log(ManifestLogLevel.Warning,
                    $"watch {Resource}: {e.Message}; retrying from resource version {ResourceVersion} in {delay.TotalMilliseconds:F0} ms");
                await DelayAsync(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task WatchOnceAsync(CancellationToken cancellationToken)
    {
        int timeoutSeconds = Math.Max(1, (int)(_options.WatchTimeout.TotalSeconds * (1 + Random.Shared.NextDouble())));
        // The server ends the watch after timeoutSeconds; if it does not (a silently dead connection), give up
        // a little later ourselves and reconnect.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds) + WatchDeadlineGrace);
        await foreach (var e in _client.WatchAsync(Resource, ResourceVersion, timeoutSeconds, deadline.Token).ConfigureAwait(false))
        {
            _eventsThisWatch++;
            switch (e.Type)
            {
                case WatchEventType.Added or WatchEventType.Modified:
                    Apply(e.Object, deleted: false);
                    break;
                case WatchEventType.Deleted:
                    Apply(e.Object, deleted: true);
                    break;
                case WatchEventType.Bookmark:
                    AdvanceResourceVersion(e.Object);
                    break;
                case WatchEventType.Error:
                    int code = e.Object.TryGetProperty("code", out var c) && c.TryGetInt32(out int n) ? n : 0;
                    string message = e.Object.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "(no message)";
                    throw new KubeApiException($"API server {_client.Server}: watch {Resource}: ERROR event {code}: {message}", statusCode: code);
                default:
                    Malformed(e.Object, e.Problem ?? "malformed event");
                    break;
            }
        }
    }

    private void Apply(JsonElement obj, bool deleted)
    {
        (string, string) key;
        T? value = null;
        if (deleted)
        {
            // A deletion needs only the name: the object's last state may not even decode.
            if (MetadataString(obj, "name") is not { Length: > 0 } name)
            {
                Malformed(obj, "metadata.name is missing");
                return;
            }
            key = (MetadataString(obj, "namespace") ?? "", name);
        }
        else
        {
            value = Convert(obj, out key, out bool ok);
            if (!ok)
            {
                // Skipped, but seen: a re-watch must not replay it.
                AdvanceResourceVersion(obj);
                return;
            }
        }
        AdvanceResourceVersion(obj);
        var before = Objects;
        var after = deleted || value is null ? before.Remove(key) : before.SetItem(key, value);
        if (ReferenceEquals(before, after))
            return;
        Volatile.Write(ref _objects, after);
        _changed();
    }

    /// <summary>Object → model through the shared decoders; null (with <paramref name="ok"/> true) for an object to ignore.</summary>
    private T? Convert(JsonElement obj, out (string, string) key, out bool ok)
    {
        key = default;
        ok = false;
        string? name = MetadataString(obj, "name");
        if (string.IsNullOrEmpty(name))
        {
            Malformed(obj, "metadata.name is missing");
            return null;
        }
        string ns = MetadataString(obj, "namespace") ?? "";
        key = (ns, name);
        try
        {
            if (JsonToYaml.Convert(obj) is not YamlMappingNode root)
                throw new ManifestFormatException("", "expected an object");
            // List items come without kind/apiVersion; put them back so documents equal their manifest form.
            var kindKey = new YamlScalarNode("kind");
            if (!root.Children.ContainsKey(kindKey))
                root.Children.Add(kindKey, new YamlScalarNode(Resource.Kind));
            var versionKey = new YamlScalarNode("apiVersion");
            if (!root.Children.ContainsKey(versionKey))
                root.Children.Add(versionKey, new YamlScalarNode(Resource.ApiVersion));
            string plural = Resource.Path[(Resource.Path.LastIndexOf('/') + 1)..];
            var location = new ManifestLocation(ns.Length == 0 ? $"apiserver:{plural}/{name}" : $"apiserver:{plural}/{ns}/{name}", 0);
            var value = _decode(root, location);
            ok = true;
            return value;
        }
        catch (Exception e) when (e is ManifestFormatException or JsonException)
        {
            Malformed(obj, e.Message);
            return null;
        }
    }

    private void Malformed(JsonElement obj, string problem)
    {
        Interlocked.Increment(ref _counters.MalformedEvents);
        string what = obj.ValueKind == JsonValueKind.Object && MetadataString(obj, "name") is { } name
            ? $" {Resource.Kind} {(MetadataString(obj, "namespace") is { Length: > 0 } ns ? ns + "/" : "")}{name}"
            : $" {Resource.Kind}";
        Log(ManifestLogLevel.Error, $"watch {Resource}:{what}: {problem}; skipped (the last good state stays)");
    }

    private void AdvanceResourceVersion(JsonElement obj)
    {
        if (MetadataString(obj, "resourceVersion") is { Length: > 0 } rv)
            Volatile.Write(ref _resourceVersion, rv);
    }

    private static string? MetadataString(JsonElement obj, string field) =>
        obj.ValueKind == JsonValueKind.Object
        && obj.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
        && metadata.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Cancelled while waiting: the loop condition ends the watcher.
        }
    }

    private void Log(ManifestLogLevel level, string message) => _options.Log?.Invoke(level, message);
}

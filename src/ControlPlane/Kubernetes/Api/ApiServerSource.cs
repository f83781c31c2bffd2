using System.Collections.Immutable;
using System.Threading.Channels;
using FastPath.ControlPlane.Kubernetes.Manifests;

namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>
/// <c>--k8s-kubeconfig FILE</c> / <c>--k8s-in-cluster</c>: the local cluster's objects from the API server,
/// the same <see cref="KubernetesObjects"/> that <see cref="ManifestDirectorySource"/> builds from files.
/// <code>
///   Services ─────────────────┐
///   EndpointSlices ───────────┤ ResourceWatcher each: list, then watch (own loop)
///   CiliumNetworkPolicies ────┤    JSON ─► JsonToYaml ─► ServiceDecoder / EndpointSliceDecoder / PolicyDocumentDecoder
///   CiliumClusterwideNP ──────┘                                   │ changed
///                                     coalesce (CoalesceDelay) ──► KubernetesObjects ──► Changed
/// </code>
/// Start-up lists everything first and throws <see cref="KubeApiException"/> (naming the server and the
/// resource) if the server cannot be reached or refuses; the Cilium CRDs alone may be missing (404: empty,
/// listed again with backoff until they appear).
/// </summary>
public sealed class ApiServerSource : IKubernetesSource
{
    public const string KubeconfigFlag = "--k8s-kubeconfig";
    public const string InClusterFlag = "--k8s-in-cluster";

    private static readonly Comparer<(string, string)> KeyOrder = Comparer<(string, string)>.Default;

    private readonly KubeClientConfig _config;
    private readonly KubeApiSourceOptions _options;
    private readonly KubeApiClient _client;
    private readonly KubeApiCounterSet _counters = new();
    private readonly ResourceWatcher<LocalService> _services;
    private readonly ResourceWatcher<LocalEndpointSlice> _slices;
    private readonly ResourceWatcher<PolicyDocument> _policies;
    private readonly ResourceWatcher<PolicyDocument> _clusterwidePolicies;

    // One pending "something changed" token; extra signals collapse into it.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private KubernetesObjects _current = KubernetesObjects.Empty;
    private CancellationTokenSource? _stop;
    private Task[] _loops = [];
    private int _disposed;

    public ApiServerSource(KubeClientConfig config, KubeApiSourceOptions? options = null)
    {
        _config = config;
        _options = options ?? new KubeApiSourceOptions();
        _client = new KubeApiClient(config, _options.RequestTimeout);
        Action changed = () => _wake.Writer.TryWrite(true);
        _services = new(KubeResource.Services, _client, _options,
            (root, at) => ServiceDecoder.Decode(root, "", at), _counters, changed);
        _slices = new(KubeResource.EndpointSlices, _client, _options, DecodeSlice, _counters, changed);
        _policies = new(KubeResource.CiliumNetworkPolicies, _client, _options,
            (root, at) => PolicyDocumentDecoder.Decode(PolicyDocument.CiliumNetworkPolicyKind, root, "", at), _counters, changed);
        _clusterwidePolicies = new(KubeResource.CiliumClusterwideNetworkPolicies, _client, _options,
            (root, at) => PolicyDocumentDecoder.Decode(PolicyDocument.CiliumClusterwideNetworkPolicyKind, root, "", at), _counters, changed);
    }

    public KubernetesObjects Current => Volatile.Read(ref _current);

    public event EventHandler<KubernetesObjects>? Changed;

    public KubeApiCounters Counters => _counters.Snapshot();

    /// <summary>The resource version each resource's next watch starts from (for status and tests).</summary>
    public IReadOnlyDictionary<KubeResource, string> ResourceVersions => new Dictionary<KubeResource, string>
    {
        [_services.Resource] = _services.ResourceVersion,
        [_slices.Resource] = _slices.ResourceVersion,
        [_policies.Resource] = _policies.ResourceVersion,
        [_clusterwidePolicies.Resource] = _clusterwidePolicies.ResourceVersion,
    };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await ListAtStartAsync(_services, cancellationToken).ConfigureAwait(false);
        await ListAtStartAsync(_slices, cancellationToken).ConfigureAwait(false);
        bool policiesListed = await ListAtStartAsync(_policies, cancellationToken).ConfigureAwait(false);
        bool clusterwideListed = await ListAtStartAsync(_clusterwidePolicies, cancellationToken).ConfigureAwait(false);
        _wake.Reader.TryRead(out _); // the start-up lists are published below, without an event
        Volatile.Write(ref _current, Build(1));

        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = _stop.Token;
        _loops =
        [
            Task.Run(() => _services.RunAsync(token), CancellationToken.None),
            Task.Run(() => _slices.RunAsync(token), CancellationToken.None),
            Task.Run(() => _policies.RunAsync(token), CancellationToken.None),
            Task.Run(() => _clusterwidePolicies.RunAsync(token), CancellationToken.None),
            Task.Run(() => PublishLoopAsync(token), CancellationToken.None),
        ];
        if (!policiesListed || !clusterwideListed)
            Log(ManifestLogLevel.Warning, "API server: Cilium policy CRDs not found; no policies until they appear (listed again with backoff)");
    }

    /// <summary>The first list of one resource; false when a Cilium CRD is not installed yet.</summary>
    private async Task<bool> ListAtStartAsync<T>(ResourceWatcher<T> watcher, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            await watcher.ListAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (KubeApiException e) when (watcher.Resource.IsCustom && e.StatusCode == 404)
        {
            return false;
        }
        catch (KubeApiException e)
        {
            throw new KubeApiException($"{_config.Origin}: cannot list {watcher.Resource.Kind}s: {e.Message}", e, e.StatusCode);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Text.Json.JsonException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new KubeApiException(
                $"{_config.Origin}: API server {_config.Server}: cannot list {watcher.Resource.Kind}s ({watcher.Resource.Path}): " +
                (e is OperationCanceledException ? $"no answer within {_options.RequestTimeout.TotalSeconds:F0} s" : e.Message), e);
        }
    }

    private async Task PublishLoopAsync(CancellationToken token)
    {
        try
        {
            while (await _wake.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                // Coalesce: a burst of events (a re-list, a rollout) becomes one snapshot.
                await Task.Delay(_options.CoalesceDelay, token).ConfigureAwait(false);
                _wake.Reader.TryRead(out _);
                var snapshot = Build(Current.Generation + 1);
                if (SameContent(snapshot, Current))
                    continue;
                Volatile.Write(ref _current, snapshot);
                try
                {
                    Changed?.Invoke(this, snapshot);
                }
                catch (Exception e)
                {
                    // A failing subscriber must not stop publishing; the snapshot is in force regardless.
                    Interlocked.Increment(ref _counters.Errors);
                    Log(ManifestLogLevel.Error, $"API server source: a Changed handler failed: {e.Message}");
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private KubernetesObjects Build(long generation) =>
        new(generation,
            [.. InKeyOrder(_services)],
            [.. InKeyOrder(_slices)],
            [.. InKeyOrder(_policies), .. InKeyOrder(_clusterwidePolicies)]);

    /// <summary>A watcher's objects by namespace, then name: the same order whatever order events came in.</summary>
    private static IEnumerable<T> InKeyOrder<T>(ResourceWatcher<T> watcher)
        where T : class =>
        watcher.Objects.OrderBy(p => p.Key, KeyOrder).Select(p => p.Value);

    /// <summary>Objects are replaced, never mutated, so reference equality per element is content equality here.</summary>
    private static bool SameContent(KubernetesObjects a, KubernetesObjects b) =>
        SameReferences(a.Services, b.Services) && SameReferences(a.EndpointSlices, b.EndpointSlices) && SameReferences(a.Policies, b.Policies);

    private static bool SameReferences<T>(ImmutableArray<T> a, ImmutableArray<T> b)
        where T : class =>
        a.AsSpan().SequenceEqual(b.AsSpan(), ReferenceEqualityComparer.Instance);

    /// <summary>EndpointSlices without the <c>kubernetes.io/service-name</c> label belong to no Service (some
    /// controllers create such slices): ignored here, where a manifest would be told it is missing.</summary>
    private LocalEndpointSlice? DecodeSlice(YamlDotNet.RepresentationModel.YamlMappingNode root, ManifestLocation at)
    {
        if (YamlFields.OptionalMapping(root, "metadata", "") is { } metadata
            && YamlFields.OptionalMapping(metadata, "labels", "metadata") is { } labels
            && YamlFields.OptionalString(labels, LocalEndpointSlice.ServiceNameLabel, "metadata.labels") is { Length: > 0 })
            return EndpointSliceDecoder.Decode(root, "", at);
        Log(ManifestLogLevel.Debug, $"{at}: no {LocalEndpointSlice.ServiceNameLabel} label; ignored");
        return null;
    }

    private void Log(ManifestLogLevel level, string message) => _options.Log?.Invoke(level, message);

    public async ValueTask DisposeAsync()
    {
        // Idempotent: the owner (MeshControlPlane) and whoever created the source may both dispose it.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (_stop is not null)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(_loops).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            _stop.Dispose();
        }
        _client.Dispose();
    }
}

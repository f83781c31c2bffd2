using System.Collections.Immutable;
using System.Diagnostics;
using System.Threading.Channels;
using FastPath.ControlPlane.Etcd;
using FastPath.ControlPlane.Mesh;

namespace FastPath.ControlPlane.Kvstore;

/// <summary>
/// Mirrors one cluster's kvstore (SPEC §4, §5) into an immutable <see cref="ClusterState"/>:
/// <code>
///   connect ─► cluster-config (validate id) ─► list prefixes @R ─► watch all from R+1 ─┐
///      ▲            │ invalid/changed id                 ▲  compaction: re-list ◄────┤
///      └─ backoff ◄─┴──────── failure / stale heartbeat ◄─┴──────────────────────────┘
/// </code>
/// On failure the last known state is kept (stale) and the status shows not-connected; only a
/// changed cluster id (or disposal by the owner) drains it. Bad values are logged once, counted
/// per reason and skipped, keeping the key's last good value.
/// </summary>
public sealed partial class RemoteClusterWatcher : IAsyncDisposable
{
    private readonly KvstoreWatcherOptions _options;
    private readonly ClusterIdRegistry _registry;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<ClusterState> _updates = Channel.CreateBounded<ClusterState>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = false });
    private readonly object _sessionLock = new();
    private EtcdConfig _config;
    private CancellationTokenSource? _session;
    private Task? _loop;
    private ClusterState _state;

    public RemoteClusterWatcher(string clusterName, EtcdConfig config, KvstoreWatcherOptions? options = null,
        ClusterIdRegistry? registry = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterName);
        ClusterName = clusterName;
        _config = config ?? throw new ArgumentNullException(nameof(config));
        _options = options ?? new KvstoreWatcherOptions();
        if (!IdentityRange.IsValidMaxConnectedClusters(_options.MaxConnectedClusters))
            throw new ArgumentException($"max-connected-clusters must be 255 or 511, not {_options.MaxConnectedClusters}", nameof(options));
        _registry = registry ?? new ClusterIdRegistry();
        _clusterId = _options.ExpectedClusterId ?? 0;
        _state = ClusterState.Empty(clusterName, _clusterId);
        _endpoint = config.Endpoints.IsDefaultOrEmpty ? "" : config.Endpoints[0].ToString().TrimEnd('/');
    }

    public string ClusterName { get; }

    /// <summary>The latest state (possibly stale while disconnected).</summary>
    public ClusterState State => Volatile.Read(ref _state);

    /// <summary>State snapshots, coalesced: a slow reader only ever sees the latest.</summary>
    public ChannelReader<ClusterState> Updates => _updates.Reader;

    /// <summary>Raised (on the watcher's task) after the state or status changed. Keep handlers short.</summary>
    public event Action<RemoteClusterWatcher>? Changed;

    /// <summary>Starts connecting in the background; idempotent.</summary>
    public void Start()
    {
        lock (_sessionLock)
            _loop ??= Task.Run(RunAsync);
    }

    /// <summary>Switches to a new config (e.g. a new endpoint): reconnects at once, keeping the state.</summary>
    public void UpdateConfig(EtcdConfig config)
    {
        Volatile.Write(ref _config, config);
        lock (_sessionLock)
            _session?.Cancel();
    }

    private async Task RunAsync()
    {
        int attempt = 0;
        while (!_stop.IsCancellationRequested)
        {
            CancellationTokenSource session;
            lock (_sessionLock)
            {
                _session = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                session = _session;
            }
            bool reconfigured = false;
            try
            {
                await RunSessionAsync(attempt, () => attempt = 0, session.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (session.IsCancellationRequested)
            {
                reconfigured = !_stop.IsCancellationRequested;
            }
            catch (Exception e)
            {
                RecordFailure(e);
            }
            finally
            {
                SetConnected(false);
                lock (_sessionLock)
                    _session = null;
                session.Dispose();
            }
            if (_stop.IsCancellationRequested)
                break;
            if (reconfigured)
            {
                attempt = 0;
                continue;
            }
            attempt++;
            TimeSpan delay = _options.BackoffUnit * Math.Min(attempt, _options.MaxBackoffAttempts);
            try
            {
                await Task.Delay(delay, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task RunSessionAsync(int attempt, Action connected, CancellationToken token)
    {
        EtcdConfig config = Volatile.Read(ref _config);
        using var client = new EtcdClient(config, _options.Client, attempt);
        SetEndpoint(client.Endpoint);
        await client.StatusAsync(token).ConfigureAwait(false);
        SetConnected(true);
        ClusterConfig? clusterConfig = null;
        if (!_options.IsLocal)
            clusterConfig = await ReadClusterConfigAsync(client, token).ConfigureAwait(false);
        else if (_clusterId != 0)
            ClaimId(_clusterId);

        bool canaries = clusterConfig?.SyncedCanaries ?? false;
        while (true)
        {
            long revision = await ListAllAsync(client, canaries, token).ConfigureAwait(false);
            connected();
            if (_options.BeforeWatchForTests is { } hook)
                await hook(revision).ConfigureAwait(false);
            await WatchUntilCompactedAsync(client, revision + 1, canaries, token).ConfigureAwait(false);
            Log($"cluster {ClusterName}: watch start revision compacted, re-listing");
        }
    }

    private async Task<ClusterConfig> ReadClusterConfigAsync(EtcdClient client, CancellationToken token)
    {
        string key = KvstorePaths.ClusterConfig(ClusterName);
        EtcdKeyValue? kv = await client.GetAsync(key, 0, token).ConfigureAwait(false);
        if (kv is null)
            throw new KvstoreException($"cluster {ClusterName}: {key} missing at {client.Endpoint}: the cluster has not published its config yet");
        ClusterConfig config;
        try
        {
            config = KvstoreParsers.ParseClusterConfig(kv.Value);
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException)
        {
            throw new KvstoreException($"cluster {ClusterName}: {key} is not valid: {e.Message}");
        }
        int max = _options.MaxConnectedClusters;
        if (!IdentityRange.IsValidClusterId(config.Id, max))
            throw new KvstoreException($"cluster {ClusterName}: {key} id {config.Id} outside 1..{max} (max-connected-clusters {max})");
        if (config.MaxConnectedClusters != max)
            throw new KvstoreException($"cluster {ClusterName}: {key} has maxConnectedClusters {config.MaxConnectedClusters}, this agent uses {max}");
        if (_options.ExpectedClusterId is uint expected && expected != config.Id)
            throw new KvstoreException($"cluster {ClusterName}: {key} id {config.Id} differs from the expected id {expected}");
        ClaimId(config.Id);
        if (_clusterId != 0 && _clusterId != config.Id)
        {
            Log($"cluster {ClusterName}: cluster id changed {_clusterId} → {config.Id}, draining its state");
            Drain(config.Id);
        }
        _clusterId = config.Id;
        SetConfig(config);
        return config;
    }

    private void ClaimId(uint id)
    {
        if (!_registry.TryClaim(ClusterName, id, out string? holder))
            throw new KvstoreException($"cluster {ClusterName}: cluster id {id} is already used by cluster {holder}");
    }

    private async Task<long> ListAllAsync(EtcdClient client, bool canaries, CancellationToken token)
    {
        // The first list fixes revision R; the others read at R so all prefixes form one snapshot.
        long revision = 0;
        foreach (Kind kind in Kinds)
        {
            EtcdRangeResult range = await client.RangePrefixAsync(PrefixOf(kind), revision, token).ConfigureAwait(false);
            if (revision == 0)
                revision = range.Revision;
            ApplyList(kind, range.Kvs);
        }
        if (canaries)
        {
            EtcdRangeResult synced = await client.RangePrefixAsync(KvstorePaths.SyncedCanaries(ClusterName), revision, token).ConfigureAwait(false);
            foreach (EtcdKeyValue kv in synced.Kvs)
                ApplyCanary(kv.Key);
        }
        MarkListed(canaries);
        Publish();
        return revision;
    }

    private async Task WatchUntilCompactedAsync(EtcdClient client, long startRevision, bool canaries, CancellationToken token)
    {
        var prefixes = new List<string>();
        foreach (Kind kind in Kinds)
            prefixes.Add(PrefixOf(kind));
        prefixes.Add(KvstorePaths.Heartbeat);
        if (canaries)
            prefixes.Add(KvstorePaths.SyncedCanaries(ClusterName));
        if (!_options.IsLocal)
            prefixes.Add(KvstorePaths.ClusterConfig(ClusterName));

        using var health = CancellationTokenSource.CreateLinkedTokenSource(token);
        _lastHeartbeat = Stopwatch.GetTimestamp();
        Task monitor = MonitorHeartbeatAsync(health);
        try
        {
            await using EtcdWatchStream watch = await client.WatchAsync(prefixes, startRevision, health.Token).ConfigureAwait(false);
            await foreach (EtcdWatchBatch batch in watch.ReadAllAsync(health.Token).ConfigureAwait(false))
            {
                if (batch.Canceled)
                {
                    if (batch.CompactRevision > 0)
                        return;
                    throw new KvstoreException($"cluster {ClusterName}: etcd {client.Endpoint} cancelled the watch: {batch.CancelReason}");
                }
                bool changed = false;
                foreach (EtcdEvent e in batch.Events)
                    changed |= ApplyEvent(e);
                if (changed)
                    Publish();
            }
            throw new KvstoreException($"cluster {ClusterName}: etcd {client.Endpoint} closed the watch stream");
        }
        catch (OperationCanceledException) when (health.IsCancellationRequested && !token.IsCancellationRequested)
        {
            throw new KvstoreException(
                $"cluster {ClusterName}: no {KvstorePaths.Heartbeat} update for more than {_options.HeartbeatTimeout.TotalSeconds:0.#} s, reconnecting");
        }
        finally
        {
            health.Cancel();
            await monitor.ConfigureAwait(false);
        }
    }

    private async Task MonitorHeartbeatAsync(CancellationTokenSource health)
    {
        try
        {
            while (!health.IsCancellationRequested)
            {
                await Task.Delay(_options.HealthCheckInterval, health.Token).ConfigureAwait(false);
                if (Stopwatch.GetElapsedTime(Volatile.Read(ref _lastHeartbeat)) > _options.HeartbeatTimeout)
                {
                    health.Cancel();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The watch ended first.
        }
    }

    private bool ApplyEvent(EtcdEvent e)
    {
        string key = e.Key;
        if (key.StartsWith(KvstorePaths.Heartbeat, StringComparison.Ordinal))
        {
            Volatile.Write(ref _lastHeartbeat, Stopwatch.GetTimestamp());
            return false;
        }
        if (!_options.IsLocal && key == KvstorePaths.ClusterConfig(ClusterName))
            throw new KvstoreException($"cluster {ClusterName}: {key} changed, reconnecting to re-validate it");
        if (key.StartsWith(KvstorePaths.SyncedPrefix, StringComparison.Ordinal))
        {
            if (e.Type == EtcdEventType.Put)
                ApplyCanary(key);
            return true;
        }
        foreach (Kind kind in Kinds)
        {
            string prefix = PrefixOf(kind);
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                return e.Type == EtcdEventType.Put
                    ? ApplyPut(kind, key, key[prefix.Length..], e.Value, e.ModRevision)
                    : ApplyDelete(kind, key, key[prefix.Length..]);
            }
        }
        return false;
    }

    private void Log(string message)
    {
        if (_options.Log is { } log)
            log(message);
        else
            Console.Error.WriteLine($"kvstore: {message}");
    }

    private void RaiseChanged() => Changed?.Invoke(this);

    /// <summary>Stops the watcher and releases its cluster id. The last state stays readable; the owner drains it.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        Task? loop;
        lock (_sessionLock)
            loop = _loop;
        if (loop is not null)
            await loop.ConfigureAwait(false);
        _registry.Release(ClusterName);
        _updates.Writer.TryComplete();
        _stop.Dispose();
    }
}

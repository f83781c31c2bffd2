using System.Collections.Immutable;
using System.Threading.Channels;
using FastPath.ControlPlane.Etcd;
using FastPath.ControlPlane.Mesh;

namespace FastPath.ControlPlane.Kvstore;

/// <summary>
/// Watches <c>--clustermesh-config DIR</c>: one etcd client YAML per remote cluster, file name =
/// cluster name (SPEC §5). A new file connects a <see cref="RemoteClusterWatcher"/>, a changed file
/// reconnects it with the new config (state kept), a removed file drains the cluster. The local
/// cluster's own file, dot-files (Kubernetes secret-mount internals) and files without
/// <c>endpoints:</c> are ignored. FileSystemWatcher triggers rescans; a periodic rescan is the safety net
/// for missed notifications (e.g. atomic symlink swaps of mounted secrets).
/// </summary>
public sealed class ClusterMeshConfigDirectory : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string _localCluster;
    private readonly KvstoreWatcherOptions _options;
    private readonly ClusterIdRegistry _registry;
    private readonly TimeSpan _rescanInterval;
    private readonly Dictionary<string, (RemoteClusterWatcher Watcher, string Text)> _watchers = new();
    private readonly Dictionary<string, string> _configErrors = new();
    private readonly Channel<bool> _rescan = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Channel<ImmutableDictionary<string, ClusterState>> _updates = Channel.CreateBounded<ImmutableDictionary<string, ClusterState>>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly CancellationTokenSource _stop = new();
    private readonly object _lock = new();
    private FileSystemWatcher? _fsWatcher;
    private Task? _loop;
    private ImmutableDictionary<string, ClusterState> _clusters = ImmutableDictionary<string, ClusterState>.Empty;

    /// <param name="rescanInterval">Safety-net rescan period; 10 s when null.</param>
    public ClusterMeshConfigDirectory(string directory, string localClusterName, KvstoreWatcherOptions? options = null,
        ClusterIdRegistry? registry = null, TimeSpan? rescanInterval = null)
    {
        _directory = Path.GetFullPath(directory);
        _localCluster = localClusterName;
        _options = options ?? new KvstoreWatcherOptions();
        _registry = registry ?? new ClusterIdRegistry();
        _rescanInterval = rescanInterval ?? TimeSpan.FromSeconds(10);
    }

    /// <summary>Every connected (or stale) remote cluster's state, by cluster name.</summary>
    public ImmutableDictionary<string, ClusterState> Clusters => Volatile.Read(ref _clusters);

    /// <summary>Mesh snapshots, coalesced (latest wins): what the snapshot compiler consumes.</summary>
    public ChannelReader<ImmutableDictionary<string, ClusterState>> Updates => _updates.Reader;

    /// <summary>Raised after any cluster's state or status changed, or a cluster came or went.</summary>
    public event Action? Changed;

    /// <summary>Status of every remote cluster, by name.</summary>
    public ImmutableDictionary<string, ClusterStatus> Statuses
    {
        get
        {
            lock (_lock)
                return _watchers.ToImmutableDictionary(p => p.Key, p => p.Value.Watcher.Status);
        }
    }

    /// <summary>Config files that could not be used, by cluster name, with the reason (they are retried on change).</summary>
    public ImmutableDictionary<string, string> ConfigErrors
    {
        get
        {
            lock (_lock)
                return _configErrors.ToImmutableDictionary();
        }
    }

    /// <summary>Scans once, then follows the directory in the background.</summary>
    public void Start()
    {
        if (!Directory.Exists(_directory))
            throw new DirectoryNotFoundException($"--clustermesh-config {_directory}: directory does not exist");
        _fsWatcher = new FileSystemWatcher(_directory) { IncludeSubdirectories = false };
        FileSystemEventHandler poke = (_, _) => _rescan.Writer.TryWrite(true);
        _fsWatcher.Created += poke;
        _fsWatcher.Changed += poke;
        _fsWatcher.Deleted += poke;
        _fsWatcher.Renamed += (_, _) => _rescan.Writer.TryWrite(true);
        _fsWatcher.EnableRaisingEvents = true;
        Rescan();
        _loop = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            using var tick = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            tick.CancelAfter(_rescanInterval);
            try
            {
                await _rescan.Reader.ReadAsync(tick.Token).ConfigureAwait(false);
                // Editors write in several steps: let the burst settle before reading.
                await Task.Delay(TimeSpan.FromMilliseconds(50), _stop.Token).ConfigureAwait(false);
                _rescan.Reader.TryRead(out _);
            }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
            {
                // Periodic safety-net rescan.
            }
            catch (OperationCanceledException)
            {
                break;
            }
            await RescanAsync().ConfigureAwait(false);
        }
    }

    private void Rescan() => RescanAsync().GetAwaiter().GetResult();

    private async Task RescanAsync()
    {
        var wanted = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(_directory))
        {
            string name = Path.GetFileName(file);
            if (name.StartsWith('.') || name == _localCluster)
                continue;
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (IOException)
            {
                continue; // Vanished or mid-write: the next scan sees it.
            }
            if (EtcdConfig.LooksLikeClusterConfig(text))
                wanted[name] = text;
        }

        var removed = new List<RemoteClusterWatcher>();
        lock (_lock)
        {
            foreach (string name in _watchers.Keys.Where(n => !wanted.ContainsKey(n)).ToList())
            {
                removed.Add(_watchers[name].Watcher);
                _watchers.Remove(name);
            }
            foreach (string name in _configErrors.Keys.Where(n => !wanted.ContainsKey(n)).ToList())
                _configErrors.Remove(name);
        }
        foreach (RemoteClusterWatcher watcher in removed)
        {
            watcher.Changed -= OnWatcherChanged;
            await watcher.DisposeAsync().ConfigureAwait(false);
            Log($"cluster {watcher.ClusterName}: config file removed, draining its state");
        }

        foreach ((string name, string text) in wanted)
        {
            (RemoteClusterWatcher Watcher, string Text) existing;
            bool known;
            lock (_lock)
                known = _watchers.TryGetValue(name, out existing);
            if (known && existing.Text == text)
                continue;
            EtcdConfig config;
            try
            {
                config = EtcdConfig.Parse(text, Path.Combine(_directory, name));
            }
            catch (EtcdException e)
            {
                lock (_lock)
                    _configErrors[name] = e.Message;
                Log(e.Message);
                continue;
            }
            lock (_lock)
                _configErrors.Remove(name);
            if (known)
            {
                Log($"cluster {name}: config file changed, reconnecting");
                existing.Watcher.UpdateConfig(config);
                lock (_lock)
                    _watchers[name] = (existing.Watcher, text);
                continue;
            }
            var watcher = new RemoteClusterWatcher(name, config, _options, _registry);
            watcher.Changed += OnWatcherChanged;
            lock (_lock)
                _watchers[name] = (watcher, text);
            watcher.Start();
        }
        if (removed.Count > 0)
            PublishMesh();
    }

    private void OnWatcherChanged(RemoteClusterWatcher _) => PublishMesh();

    private void PublishMesh()
    {
        ImmutableDictionary<string, ClusterState> mesh;
        lock (_lock)
        {
            mesh = _watchers.ToImmutableDictionary(p => p.Key, p => p.Value.Watcher.State);
            Volatile.Write(ref _clusters, mesh);
        }
        _updates.Writer.TryWrite(mesh);
        Changed?.Invoke();
    }

    private void Log(string message)
    {
        if (_options.Log is { } log)
            log(message);
        else
            Console.Error.WriteLine($"clustermesh: {message}");
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _fsWatcher?.Dispose();
        if (_loop is not null)
            await _loop.ConfigureAwait(false);
        List<RemoteClusterWatcher> all;
        lock (_lock)
        {
            all = _watchers.Values.Select(v => v.Watcher).ToList();
            _watchers.Clear();
        }
        foreach (RemoteClusterWatcher watcher in all)
            await watcher.DisposeAsync().ConfigureAwait(false);
        _updates.Writer.TryComplete();
        _stop.Dispose();
    }
}

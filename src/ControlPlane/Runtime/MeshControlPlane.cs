using System.Collections.Immutable;
using System.Diagnostics;
using FastPath.ControlPlane.Compile;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Kvstore;
using FastPath.ControlPlane.Mesh;
using FastPath.ControlPlane.Model;
using FastPath.ControlPlane.Policy;
using FastPath.Snapshot;

namespace FastPath.ControlPlane.Runtime;

/// <summary>
/// Composes the cluster-mesh control plane (issue 3):
/// <code>
///   --k8s-manifests DIR ────► IKubernetesSource ──────────┐ Changed
///   --kvstore-config FILE ──► RemoteClusterWatcher(local) ─┤ Changed        one thread, coalesced:
///   --clustermesh-config DIR► ClusterMeshConfigDirectory ──┘ Changed ──► MeshMerger.Merge → SnapshotCompiler.Compile
///                                (one watcher per remote)                   → publish(ForwardingSnapshot)
/// </code>
/// Every source only raises a "something changed" signal; one compile thread picks up the latest of
/// everything, so a burst of etcd events costs one compile. The fast path never waits on it: it keeps
/// reading the last published snapshot. Remote clusters that go down keep their last known state (the
/// watchers do that), so their backends stay in the snapshot until the cluster's file is removed.
/// </summary>
public sealed class MeshControlPlane : IAsyncDisposable
{
    private readonly MeshControlPlaneOptions _options;
    private readonly Action<ForwardingSnapshot> _publish;
    private readonly SnapshotCompiler _compiler;
    private readonly PolicyInputsBuilder _policy;
    private readonly ClusterIdRegistry _registry = new();
    private readonly AutoResetEvent _dirty = new(false);
    private readonly ManualResetEventSlim _stopping = new(false);
    private readonly object _compileGate = new();
    private RemoteClusterWatcher? _local;
    private ClusterMeshConfigDirectory? _mesh;
    private Thread? _thread;
    private ImmutableDictionary<string, ushort> _clusterIds = ImmutableDictionary<string, ushort>.Empty;
    private object?[] _lastInputs = [];
    private long _revision;
    private long _publishes;
    private long _compileFailures;
    private bool _started;

    /// <param name="publish">Called on the compile thread with each new snapshot, in revision order
    /// (the agent passes SnapshotPublisher.Publish). It must not block for long: it delays the next compile.</param>
    public MeshControlPlane(MeshControlPlaneOptions options, Action<ForwardingSnapshot> publish)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _publish = publish ?? throw new ArgumentNullException(nameof(publish));
        int max = options.Watcher.MaxConnectedClusters;
        bool kvstores = options.ClusterMeshConfigDirectory is not null || options.KvstoreConfigFile is not null;
        // Id 0 is "no cluster": fine for local manifests alone, never with kvstores (it would own no identity range).
        if (options.ClusterId > max || (kvstores && !IdentityRange.IsValidClusterId(options.ClusterId, max)))
            throw new ArgumentException($"--cluster-id {options.ClusterId}: expected 1-{max} (max-connected-clusters {max})", nameof(options));
        _compiler = new SnapshotCompiler(options.Maglev, ClusterIdOf, Log);
        _policy = new PolicyInputsBuilder(options.ClusterName, options.PolicyDefaultLocalCluster, options.PolicyAwareSelection, Log);
    }

    /// <summary>Raised on the compile thread after each publish, with the time merge + compile + publish took.</summary>
    public event Action<ForwardingSnapshot, TimeSpan>? Published;

    /// <summary>Revision of the last published snapshot (0 before the first).</summary>
    public long Revision => Interlocked.Read(ref _revision);

    /// <summary>The local objects in force (empty when no Kubernetes source is configured).</summary>
    public KubernetesObjects KubernetesObjects => _options.Kubernetes?.Current ?? KubernetesObjects.Empty;

    /// <summary>Where the local cluster's objects come from (manifests or the API server); null without one.</summary>
    public IKubernetesSource? Kubernetes => _options.Kubernetes;

    /// <summary>Every remote cluster's state (possibly stale while disconnected), by name.</summary>
    public ImmutableDictionary<string, ClusterState> RemoteClusters =>
        _mesh?.Clusters ?? ImmutableDictionary<string, ClusterState>.Empty;

    /// <summary>
    /// Every cluster's state, the local one (from <c>--kvstore-config</c>) first, then remotes by name:
    /// the identities and ipcache the identity table is built from (SPEC §6).
    /// </summary>
    public ImmutableArray<ClusterState> ClusterStates
    {
        get
        {
            var all = ImmutableArray.CreateBuilder<ClusterState>();
            if (_local is not null)
                all.Add(_local.State);
            foreach (var pair in RemoteClusters.OrderBy(p => p.Key, StringComparer.Ordinal))
                all.Add(pair.Value);
            return all.ToImmutable();
        }
    }

    /// <summary>The policy inputs of the last compile (compiled tables, ipcache, policy-aware selection flag).</summary>
    public PolicyInputs Policy => _policy.Current;

    /// <summary>Policy revision of the last published snapshot (bumps only when tables or ipcache really change).</summary>
    public long PolicyRevision => _compiler.PolicyRevision;

    public MeshStatus Status => new(
        _local?.Status,
        _mesh is null ? [] : [.. _mesh.Statuses.Values.OrderBy(s => s.Name, StringComparer.Ordinal)],
        KubernetesObjects.GlobalServiceCount,
        _mesh?.ConfigErrors ?? ImmutableDictionary<string, string>.Empty,
        Revision,
        Interlocked.Read(ref _publishes),
        Interlocked.Read(ref _compileFailures))
    {
        PolicyParseFailures = _policy.ParseFailures,
    };

    /// <summary>
    /// Loads the local objects (a bad manifest throws <see cref="ManifestException"/>, a malformed policy
    /// <see cref="PolicyParseException"/>, each naming the file: start-up must stop), publishes the first snapshot before returning, then connects the kvstores
    /// in the background and follows every source.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_started)
            throw new InvalidOperationException("MeshControlPlane already started");
        _started = true;

        // Claim the local id first, so a remote announcing the same id is refused (its identities would collide).
        if (_options.ClusterId != 0)
            _registry.TryClaim(_options.ClusterName, _options.ClusterId, out _);

        if (_options.Kubernetes is { } kubernetes)
        {
            await kubernetes.StartAsync(cancellationToken).ConfigureAwait(false);
            kubernetes.Changed += (_, _) => _dirty.Set();
        }

        // Start-up: the first snapshot (local services, no remotes yet) is live before the caller says ready.
        CompileAndPublish(force: true);

        _thread = new Thread(CompileLoop) { IsBackground = true, Name = "fastpath-control-plane" };
        _thread.Start();

        KvstoreWatcherOptions watcher = _options.Watcher with { Log = _options.Watcher.Log ?? _options.Log };
        if (_options.KvstoreConfigFile is { } kvstoreConfig)
        {
            _local = LocalKvstore.Create(_options.ClusterName, _options.ClusterId, kvstoreConfig, watcher, _registry);
            _local.Changed += _ => _dirty.Set();
            _local.Start();
        }
        if (_options.ClusterMeshConfigDirectory is { } directory)
        {
            _mesh = new ClusterMeshConfigDirectory(directory, _options.ClusterName, watcher, _registry, _options.ConfigRescanInterval);
            _mesh.Changed += () => _dirty.Set();
            _mesh.Start();
        }
    }

    private void CompileLoop()
    {
        WaitHandle[] handles = [_dirty, _stopping.WaitHandle];
        while (WaitHandle.WaitAny(handles) == 0)
            CompileAndPublish(force: false);
    }

    private void CompileAndPublish(bool force)
    {
        lock (_compileGate)
        {
            long started = Stopwatch.GetTimestamp();
            try
            {
                KubernetesObjects local = KubernetesObjects;
                ClusterState[] remotes = [.. RemoteClusters.Values];
                // Policy depends on every cluster's identities and ipcache; the builder returns the same
                // instance when none of that (nor the policies) changed, so it compares by reference below.
                PolicyInputs policy = _policy.Update(local, ClusterStates, startup: force);

                // Skip the compile when nothing the merge or the policy reads has changed (e.g. only nodes
                // or a status moved): same k8s snapshot, service maps, cluster ids and policy inputs.
                object?[] inputs = Inputs(local, remotes, policy);
                if (!force && SameInputs(inputs, _lastInputs))
                    return;

                var ids = ImmutableDictionary.CreateBuilder<string, ushort>(StringComparer.Ordinal);
                ids[_options.ClusterName] = (ushort)_options.ClusterId;
                foreach (ClusterState remote in remotes)
                    if (remote.Name != _options.ClusterName)
                        ids[remote.Name] = (ushort)remote.Id;
                Volatile.Write(ref _clusterIds, ids.ToImmutable());

                long revision = Interlocked.Read(ref _revision) + 1;
                DesiredState desired = MeshMerger.Merge(_options.ClusterName, local, remotes, revision);
                ForwardingSnapshot snapshot = _compiler.Compile(desired, policy);
                _publish(snapshot);
                _lastInputs = inputs;
                Interlocked.Exchange(ref _revision, revision);
                Interlocked.Increment(ref _publishes);
                Published?.Invoke(snapshot, Stopwatch.GetElapsedTime(started));
            }
            catch (Exception e) when (!force)
            {
                // Keep forwarding with the previous snapshot; the next change retries.
                Interlocked.Increment(ref _compileFailures);
                Log($"control plane: merge/compile/publish failed, keeping revision {Revision}: {e.Message}");
            }
        }
    }

    private static object?[] Inputs(KubernetesObjects local, ClusterState[] remotes, PolicyInputs policy)
    {
        Array.Sort(remotes, (a, b) => string.CompareOrdinal(a.Name, b.Name));
        var inputs = new object?[2 + remotes.Length * 2];
        inputs[0] = local;
        inputs[^1] = policy;
        for (int i = 0; i < remotes.Length; i++)
        {
            inputs[1 + 2 * i] = remotes[i].Services;
            inputs[2 + 2 * i] = $"{remotes[i].Name}#{remotes[i].Id}";
        }
        return inputs;
    }

    private static bool SameInputs(object?[] a, object?[] b)
    {
        if (a.Length != b.Length)
            return false;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] is string s ? !s.Equals(b[i]) : !ReferenceEquals(a[i], b[i]))
                return false;
        }
        return true;
    }

    private ushort ClusterIdOf(string cluster) =>
        Volatile.Read(ref _clusterIds).TryGetValue(cluster, out ushort id) ? id : (ushort)0;

    private void Log(string message)
    {
        if (_options.Log is { } log)
            log(message);
        else
            Console.Error.WriteLine(message);
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Set();
        bool stopped = _thread?.Join(TimeSpan.FromSeconds(10)) ?? true;
        if (_mesh is not null)
            await _mesh.DisposeAsync().ConfigureAwait(false);
        if (_local is not null)
            await _local.DisposeAsync().ConfigureAwait(false);
        if (_options.Kubernetes is { } kubernetes)
            await kubernetes.DisposeAsync().ConfigureAwait(false);
        if (stopped)
            _dirty.Dispose(); // A compile still running past the join may yet Set it: leave it to the finalizer then.
    }
}

using System.Collections.Immutable;
using FastPath.Addressing;
using FastPath.ControlPlane.Etcd;
using FastPath.ControlPlane.Mesh;

namespace FastPath.ControlPlane.Kvstore;

/// <summary>The watcher's state: applying listed keys and events, rejections, sync and status.
/// State fields are touched only by the watcher's own task; status fields under <c>_statusLock</c>.</summary>
public sealed partial class RemoteClusterWatcher
{
    private enum Kind { Services, Nodes, Identities, IpCache }

    private static readonly Kind[] RemoteKinds = { Kind.Services, Kind.Nodes, Kind.Identities, Kind.IpCache };
    private static readonly Kind[] LocalKinds = { Kind.Nodes, Kind.Identities, Kind.IpCache };

    private readonly object _statusLock = new();
    private readonly Dictionary<string, (string Reason, long ModRevision)> _rejectedKeys = new();
    private readonly HashSet<(string Key, string Reason)> _loggedRejections = new();
    private readonly HashSet<Kind> _listed = new();
    private readonly HashSet<Kind> _canarySeen = new();
    private readonly HashSet<Kind> _synced = new();

    private ImmutableDictionary<string, ClusterService> _services = ImmutableDictionary<string, ClusterService>.Empty;
    private ImmutableDictionary<string, ClusterNode> _nodes = ImmutableDictionary<string, ClusterNode>.Empty;
    private ImmutableDictionary<uint, IdentityEntry> _identities = ImmutableDictionary<uint, IdentityEntry>.Empty;
    private ImmutableDictionary<string, IpCacheEntry> _ipcache = ImmutableDictionary<string, IpCacheEntry>.Empty;
    private uint _clusterId;
    private long _lastHeartbeat;

    // Status, read by Status from any thread.
    private string _endpoint;
    private bool _connected;
    private ClusterConfig? _clusterConfig;
    private long _failures;
    private DateTimeOffset? _lastFailure;
    private string? _lastError;
    private ImmutableDictionary<string, long> _rejections = ImmutableDictionary<string, long>.Empty;
    private SyncStatus _syncStatus = SyncStatus.None;

    private Kind[] Kinds => _options.IsLocal ? LocalKinds : RemoteKinds;

    /// <summary>The cluster's line for a ClusterMesh status listing.</summary>
    public ClusterStatus Status
    {
        get
        {
            ClusterState state = State;
            lock (_statusLock)
            {
                bool configOk = _options.IsLocal || _clusterConfig is not null;
                bool allSynced = _syncStatus.Nodes && _syncStatus.Identities && _syncStatus.Endpoints
                    && (_options.IsLocal || _syncStatus.Services);
                return new ClusterStatus(ClusterName, _endpoint, _connected && configOk && allSynced, _connected,
                    _clusterConfig is not null, state.Id, _clusterConfig?.SyncedCanaries ?? false, _syncStatus,
                    state.Nodes.Count, state.IpCache.Count, state.Identities.Count, state.Services.Count,
                    _failures, _lastFailure, _lastError, _rejections);
            }
        }
    }

    private string PrefixOf(Kind kind) => kind switch
    {
        Kind.Services => KvstorePaths.Services(ClusterName),
        Kind.Nodes => KvstorePaths.Nodes(ClusterName),
        Kind.Identities => KvstorePaths.IdentitiesById,
        _ => KvstorePaths.IpCacheDefault,
    };

    private static string CanaryBase(Kind kind) => kind switch
    {
        Kind.Services => KvstorePaths.ServicesBase,
        Kind.Nodes => KvstorePaths.NodesBase,
        Kind.Identities => KvstorePaths.IdentitiesBase,
        _ => KvstorePaths.IpCacheBase,
    };

    /// <summary>Replaces one kind's content with a full listing: what did not come back is deleted,
    /// except that a rejected key keeps its last good value.</summary>
    private void ApplyList(Kind kind, ImmutableArray<EtcdKeyValue> kvs)
    {
        string prefix = PrefixOf(kind);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var listedKeys = new HashSet<string>(StringComparer.Ordinal);
        foreach (EtcdKeyValue kv in kvs)
        {
            listedKeys.Add(kv.Key);
            string suffix = kv.Key[prefix.Length..];
            seen.Add(NaturalKey(kind, suffix));
            ApplyPut(kind, kv.Key, suffix, kv.Value, kv.ModRevision);
        }
        switch (kind)
        {
            case Kind.Services:
                _services = _services.RemoveRange(_services.Keys.Where(k => !seen.Contains(k)).ToList());
                break;
            case Kind.Nodes:
                _nodes = _nodes.RemoveRange(_nodes.Keys.Where(k => !seen.Contains(k)).ToList());
                break;
            case Kind.Identities:
                _identities = _identities.RemoveRange(_identities.Keys.Where(k => !seen.Contains(k.ToString())).ToList());
                break;
            default:
                _ipcache = _ipcache.RemoveRange(_ipcache.Keys.Where(k => !seen.Contains(k)).ToList());
                break;
        }
        foreach (string rejected in _rejectedKeys.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)
                     && !listedKeys.Contains(k)).ToList())
            _rejectedKeys.Remove(rejected);
    }

    /// <summary>The key a value is stored under in <see cref="ClusterState"/>, derived from its etcd key alone
    /// so deletes and rejected values can be matched to it.</summary>
    private static string NaturalKey(Kind kind, string suffix)
    {
        if (kind == Kind.IpCache)
        {
            string ip = suffix;
            string? length = null;
            int slash = suffix.IndexOf('/');
            if (slash >= 0)
            {
                ip = suffix[..slash];
                length = suffix[(slash + 1)..];
            }
            if (NetAddress.TryParse(ip, out NetAddress address))
                return $"{address}/{length ?? (address.IsV4 ? "32" : "128")}";
        }
        if (kind == Kind.Identities && uint.TryParse(suffix, out uint id))
            return id.ToString();
        return suffix;
    }

    private bool ApplyPut(Kind kind, string key, string suffix, string value, long modRevision)
    {
        string natural = NaturalKey(kind, suffix);
        bool remote = !_options.IsLocal;
        switch (kind)
        {
            case Kind.Services:
                return Apply(KvstoreParsers.ParseService(suffix, value, ClusterName, _clusterId), ref _services, natural, key, modRevision);
            case Kind.Nodes:
                return Apply(KvstoreParsers.ParseNode(suffix, value, ClusterName, _clusterId), ref _nodes, natural, key, modRevision);
            case Kind.Identities:
            {
                var result = KvstoreParsers.ParseIdentity(suffix, value, ClusterName, _clusterId, _options.MaxConnectedClusters);
                if (result.Value is { } identity)
                {
                    _rejectedKeys.Remove(key);
                    if (_identities.TryGetValue(identity.Id, out IdentityEntry? old) && old.Labels.SequenceEqual(identity.Labels))
                        return false;
                    _identities = _identities.SetItem(identity.Id, identity);
                    return true;
                }
                Reject(key, result.Reason!, result.Detail!, modRevision);
                return false;
            }
            default:
                return Apply(KvstoreParsers.ParseIpCache(suffix, value, ClusterName, remote), ref _ipcache, natural, key, modRevision);
        }
    }

    private bool Apply<T>(ParseResult<T> result, ref ImmutableDictionary<string, T> map, string natural, string key, long modRevision)
        where T : class
    {
        if (result.IsDelete)
        {
            _rejectedKeys.Remove(key);
            bool had = map.ContainsKey(natural);
            map = map.Remove(natural);
            return had;
        }
        if (result.Value is { } value)
        {
            _rejectedKeys.Remove(key);
            if (map.TryGetValue(natural, out T? old) && Equals(old, value))
                return false;
            map = map.SetItem(natural, value);
            return true;
        }
        Reject(key, result.Reason!, result.Detail!, modRevision);
        return false;
    }

    private bool ApplyDelete(Kind kind, string key, string suffix)
    {
        _rejectedKeys.Remove(key);
        string natural = NaturalKey(kind, suffix);
        int before = Count(kind);
        switch (kind)
        {
            case Kind.Services: _services = _services.Remove(natural); break;
            case Kind.Nodes: _nodes = _nodes.Remove(natural); break;
            case Kind.Identities:
                if (uint.TryParse(natural, out uint id))
                    _identities = _identities.Remove(id);
                break;
            default: _ipcache = _ipcache.Remove(natural); break;
        }
        return Count(kind) != before;
    }

    private int Count(Kind kind) => kind switch
    {
        Kind.Services => _services.Count,
        Kind.Nodes => _nodes.Count,
        Kind.Identities => _identities.Count,
        _ => _ipcache.Count,
    };

    /// <summary>Logs a refused value once per key and reason; counts it once per value version.</summary>
    private void Reject(string key, string reason, string detail, long modRevision)
    {
        if (_rejectedKeys.TryGetValue(key, out var seen) && seen.ModRevision == modRevision && seen.Reason == reason)
            return;
        _rejectedKeys[key] = (reason, modRevision);
        lock (_statusLock)
            _rejections = _rejections.SetItem(reason, _rejections.GetValueOrDefault(reason) + 1);
        if (_loggedRejections.Add((key, reason)))
            Log($"cluster {ClusterName}: ignoring {key}: {reason}: {detail} (keeping its last good value, if any)");
    }

    private void ApplyCanary(string key)
    {
        foreach (Kind kind in Kinds)
        {
            if (key == KvstorePaths.SyncedCanary(ClusterName, CanaryBase(kind)))
                _canarySeen.Add(kind);
        }
        RefreshSync(canaries: true);
    }

    /// <summary>All kinds were just listed.</summary>
    private void MarkListed(bool canaries)
    {
        foreach (Kind kind in Kinds)
            _listed.Add(kind);
        RefreshSync(canaries);
    }

    /// <summary>A prefix is synced once listed and, with sync canaries, once its canary exists. Synced stays
    /// true across reconnects (the state is still there); only a drain resets it.</summary>
    private void RefreshSync(bool canaries)
    {
        foreach (Kind kind in Kinds)
        {
            if (_listed.Contains(kind) && (!canaries || _canarySeen.Contains(kind)))
                _synced.Add(kind);
        }
        lock (_statusLock)
        {
            _syncStatus = new SyncStatus(_synced.Contains(Kind.Nodes), _synced.Contains(Kind.IpCache),
                _synced.Contains(Kind.Identities), _synced.Contains(Kind.Services));
        }
    }

    private void Drain(uint newId)
    {
        _services = _services.Clear();
        _nodes = _nodes.Clear();
        _identities = _identities.Clear();
        _ipcache = _ipcache.Clear();
        _rejectedKeys.Clear();
        _listed.Clear();
        _canarySeen.Clear();
        _synced.Clear();
        _clusterId = newId;
        lock (_statusLock)
            _syncStatus = SyncStatus.None;
        Publish();
    }

    private void Publish()
    {
        var state = new ClusterState(ClusterName, _clusterId, _services)
        {
            Nodes = _nodes,
            Identities = _identities,
            IpCache = _ipcache,
        };
        Volatile.Write(ref _state, state);
        _updates.Writer.TryWrite(state);
        RaiseChanged();
    }

    private void SetEndpoint(string endpoint)
    {
        lock (_statusLock)
            _endpoint = endpoint;
    }

    private void SetConnected(bool connected)
    {
        lock (_statusLock)
        {
            if (_connected == connected)
                return;
            _connected = connected;
        }
        RaiseChanged();
    }

    private void SetConfig(ClusterConfig config)
    {
        lock (_statusLock)
            _clusterConfig = config;
    }

    private void RecordFailure(Exception e)
    {
        lock (_statusLock)
        {
            _failures++;
            _lastFailure = DateTimeOffset.UtcNow;
            _lastError = e.Message;
        }
        Log($"cluster {ClusterName}: {e.Message}");
        RaiseChanged();
    }
}

using FastPath.ControlPlane.Etcd;

namespace FastPath.ControlPlane.Kvstore;

/// <summary>The local cluster's etcd (<c>--kvstore-config FILE</c>): nodes, identities and ipcache.</summary>
public static class LocalKvstore
{
    /// <summary>A watcher for the local cluster; call <see cref="RemoteClusterWatcher.Start"/> on it.</summary>
    public static RemoteClusterWatcher Create(string clusterName, uint clusterId, string configFile,
        KvstoreWatcherOptions? options = null, ClusterIdRegistry? registry = null)
    {
        EtcdConfig config = EtcdConfig.Load(configFile);
        KvstoreWatcherOptions local = (options ?? new KvstoreWatcherOptions()) with
        {
            IsLocal = true,
            ExpectedClusterId = clusterId,
        };
        return new RemoteClusterWatcher(clusterName, config, local, registry);
    }
}

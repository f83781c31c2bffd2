using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Kubernetes.Api;
using FastPath.ControlPlane.Kvstore;
using FastPath.ControlPlane.Runtime;
using FastPath.Snapshot;

namespace FastPath.Agent;

/// <summary>Starts and stops mesh mode's <see cref="MeshControlPlane"/> for the agent, logging to the agent log.</summary>
internal static class MeshControl
{
    /// <summary>Loads the manifests and publishes the first snapshot before returning; a bad manifest
    /// throws <see cref="ManifestException"/>, a malformed policy PolicyParseException, naming the file (start-up stops).</summary>
    public static MeshControlPlane Start(AgentOptions options, MeshSources sources, Action<ForwardingSnapshot> publish)
    {
        var plane = new MeshControlPlane(new MeshControlPlaneOptions
        {
            ClusterName = options.ClusterName,
            ClusterId = (uint)options.ClusterId,
            Maglev = options.Maglev,
            Kubernetes = KubernetesSource(sources),
            KvstoreConfigFile = sources.KvstoreConfig,
            ClusterMeshConfigDirectory = sources.ClusterMeshConfig,
            Watcher = new KvstoreWatcherOptions
            {
                MaxConnectedClusters = sources.MaxConnectedClusters,
                Log = message => AgentLog.Warn($"clustermesh: {message}"),
            },
            PolicyAwareSelection = sources.PolicyAwareSelection,
            PolicyDefaultLocalCluster = sources.PolicyDefaultLocalCluster,
            Log = AgentLog.Warn,
        }, publish);
        try
        {
            plane.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        catch
        {
            plane.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
        AgentLog.Info($"mesh mode: cluster {options.ClusterName} (id {options.ClusterId}), " +
            $"k8s {KubernetesDescription(sources)}, kvstore {sources.KvstoreConfig ?? "none"}, " +
            $"clustermesh config {sources.ClusterMeshConfig ?? "none"}, policy-aware selection {(sources.PolicyAwareSelection ? "on" : "off")}, " +
            $"policy default local cluster {(sources.PolicyDefaultLocalCluster ? "on" : "off")}");
        return plane;
    }

    /// <summary>The local objects' source; an in-cluster config without its files throws <see cref="KubeApiException"/>.</summary>
    private static IKubernetesSource? KubernetesSource(MeshSources sources)
    {
        if (sources.K8sManifests is { } dir)
            return new ManifestDirectorySource(dir, Log);
        var options = new KubeApiSourceOptions { Log = Log };
        if (sources.K8sKubeconfig is { } kubeconfig)
            return new ApiServerSource(KubeconfigFile.Load(kubeconfig), options);
        if (sources.K8sInCluster)
            return new ApiServerSource(KubeClientConfig.InCluster(), options);
        return null;
    }

    internal static string KubernetesDescription(MeshSources sources) =>
        sources.K8sManifests is { } dir ? $"manifests {dir}"
        : sources.K8sKubeconfig is { } kubeconfig ? $"API server via kubeconfig {kubeconfig}"
        : sources.K8sInCluster ? "API server in-cluster"
        : "none";

    private static void Log(ManifestLogLevel level, string message)
    {
        switch (level)
        {
            case ManifestLogLevel.Error: AgentLog.Error(message); break;
            case ManifestLogLevel.Warning: AgentLog.Warn(message); break;
            default: break;
        }
    }

    /// <summary>Disposes the control plane when the agent stops (before XDP is detached).</summary>
    public sealed class Stopper(MeshControlPlane? plane) : IDisposable
    {
        public void Dispose() => plane?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}

using FastPath.ControlPlane.Etcd;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Kvstore;

namespace FastPath.Agent;

/// <summary>
/// Mesh mode's validated sources (SPEC §2): the local cluster's objects, its kvstore and the remote
/// clusters' config directory. Present when any of the three flags is given; standalone
/// <c>--services</c> excludes <c>--k8s-manifests</c> (two owners of the same services).
/// </summary>
internal sealed record MeshSources(
    string? K8sManifests, string? KvstoreConfig, string? ClusterMeshConfig, int MaxConnectedClusters)
{
    public const string KvstoreConfigFlag = "--kvstore-config";
    public const string ClusterMeshConfigFlag = "--clustermesh-config";
    public const string MaxConnectedClustersFlag = "--max-connected-clusters";

    public static MeshSources? Validate(AgentFlags flags)
    {
        if (flags.K8sManifests is null && flags.KvstoreConfig is null && flags.ClusterMeshConfig is null)
            return null;
        if (flags.ServicesFile is not null && flags.K8sManifests is not null)
            throw new AgentOptionException(
                $"--services and {ManifestDirectorySource.Flag} are mutually exclusive: --services is standalone mode " +
                $"(services from one file), {ManifestDirectorySource.Flag} is mesh mode (Kubernetes objects); give one");
        if (flags.ServicesFile is not null)
            throw new AgentOptionException(
                $"--services (standalone mode) cannot be combined with {KvstoreConfigFlag} or {ClusterMeshConfigFlag}; " +
                $"use {ManifestDirectorySource.Flag} for the local services in mesh mode");

        // Alone, --k8s-manifests may run with cluster id 0 (no mesh); with a kvstore the id is the cluster's identity range.
        int max = flags.MaxConnectedClusters;
        bool needsId = flags.ClusterMeshConfig is not null || flags.KvstoreConfig is not null;
        if (needsId && !IdentityRange.IsValidClusterId((uint)Math.Max(flags.ClusterId, 0), max))
            throw new AgentOptionException(
                $"--cluster-id {flags.ClusterId}: with {ClusterMeshConfigFlag} or {KvstoreConfigFlag} expected 1-{max} ({MaxConnectedClustersFlag} {max})");

        if (flags.K8sManifests is { } manifests && !Directory.Exists(manifests))
            throw new AgentOptionException($"{ManifestDirectorySource.Flag} {manifests}: no such directory");
        if (flags.K8sManifests is { } dir)
            CheckManifests(dir);
        if (flags.ClusterMeshConfig is { } directory && !Directory.Exists(directory))
            throw new AgentOptionException($"{ClusterMeshConfigFlag} {directory}: no such directory");
        if (flags.KvstoreConfig is { } file)
        {
            if (!File.Exists(file))
                throw new AgentOptionException($"{KvstoreConfigFlag} {file}: no such file");
            try
            {
                EtcdConfig.Load(file);
            }
            catch (EtcdException e)
            {
                throw new AgentOptionException($"{KvstoreConfigFlag}: {e.Message}");
            }
        }
        return new MeshSources(flags.K8sManifests, flags.KvstoreConfig, flags.ClusterMeshConfig, max);
    }

    /// <summary>Reads the manifests once so a bad file stops start-up before XDP is attached.</summary>
    private static void CheckManifests(string directory)
    {
        var source = new ManifestDirectorySource(directory);
        try
        {
            source.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (ManifestException e)
        {
            throw new AgentOptionException($"{ManifestDirectorySource.Flag}: {e.Message}");
        }
        finally
        {
            source.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}

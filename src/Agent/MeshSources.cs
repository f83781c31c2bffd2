using FastPath.ControlPlane.Etcd;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Kubernetes.Api;
using FastPath.ControlPlane.Kvstore;
using FastPath.ControlPlane.Policy;

namespace FastPath.Agent;

/// <summary>
/// Mesh mode's validated sources (SPEC §2): the local cluster's objects, its kvstore and the remote
/// clusters' config directory. Present when any of the three flags is given; standalone
/// <c>--services</c> excludes <c>--k8s-manifests</c> (two owners of the same services). The local objects come
/// from one of <c>--k8s-manifests</c>, <c>--k8s-kubeconfig</c> or <c>--k8s-in-cluster</c>.
/// </summary>
/// <param name="PolicyAwareSelection"><c>--lb-policy-aware-selection</c> (policies exist only in mesh mode).</param>
/// <param name="PolicyDefaultLocalCluster"><c>--policy-default-local-cluster</c>.</param>
/// <param name="K8sKubeconfig"><c>--k8s-kubeconfig</c>: API server source from a kubeconfig (parsed once here).</param>
/// <param name="K8sInCluster"><c>--k8s-in-cluster</c>: API server source from the pod's service account
/// (its files are checked when the source starts: the kubelet mounts them).</param>
internal sealed record MeshSources(
    string? K8sManifests, string? KvstoreConfig, string? ClusterMeshConfig, int MaxConnectedClusters,
    bool PolicyAwareSelection = false, bool PolicyDefaultLocalCluster = false,
    string? K8sKubeconfig = null, bool K8sInCluster = false)
{
    public const string PolicyAwareSelectionFlag = "--lb-policy-aware-selection";
    public const string PolicyDefaultLocalClusterFlag = "--policy-default-local-cluster";

    public const string KvstoreConfigFlag = "--kvstore-config";
    public const string ClusterMeshConfigFlag = "--clustermesh-config";
    public const string MaxConnectedClustersFlag = "--max-connected-clusters";

    public static MeshSources? Validate(AgentFlags flags)
    {
        // One owner of the local objects: a directory, a kubeconfig or the pod's service account.
        string[] k8sSources =
        [
            .. flags.K8sManifests is null ? Array.Empty<string>() : [ManifestDirectorySource.Flag],
            .. flags.K8sKubeconfig is null ? Array.Empty<string>() : [ApiServerSource.KubeconfigFlag],
            .. flags.K8sInCluster ? [ApiServerSource.InClusterFlag] : Array.Empty<string>(),
        ];
        if (k8sSources.Length > 1)
            throw new AgentOptionException(
                $"{string.Join(" and ", k8sSources)} are mutually exclusive: the local cluster's objects come from one source; give one");
        if (flags.ServicesFile is not null && k8sSources.Length == 1 && flags.K8sManifests is null)
            throw new AgentOptionException(
                $"--services and {k8sSources[0]} are mutually exclusive: --services is standalone mode " +
                $"(services from one file), {k8sSources[0]} is mesh mode (Kubernetes objects); give one");

        if (k8sSources.Length == 0 && flags.KvstoreConfig is null && flags.ClusterMeshConfig is null)
        {
            // Policies come from CiliumNetworkPolicy manifests: standalone --services has none to enforce.
            if (flags.PolicyAwareSelection || flags.PolicyDefaultLocalCluster)
                throw new AgentOptionException(
                    $"{(flags.PolicyAwareSelection ? PolicyAwareSelectionFlag : PolicyDefaultLocalClusterFlag)} needs mesh mode: " +
                    $"policies are read from CiliumNetworkPolicy manifests in {ManifestDirectorySource.Flag}");
            return null;
        }
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
        if (flags.K8sKubeconfig is { } kubeconfig)
            CheckKubeconfig(kubeconfig);
        if (flags.KvstoreConfig is { } file)
        {
            if (!File.Exists(file))
                throw new AgentOptionException($"{KvstoreConfigFlag} {file}: no such file");
            EtcdConfig config;
            try
            {
                config = EtcdConfig.Load(file);
            }
            catch (EtcdException e)
            {
                throw new AgentOptionException($"{KvstoreConfigFlag}: {e.Message}");
            }
            // The TLS files it names are read on every connect; a missing one (an unmounted Secret) would only show as retries.
            foreach (var (key, path) in new[] { ("trusted-ca-file", config.TrustedCaFile), ("cert-file", config.CertFile), ("key-file", config.KeyFile) })
                if (path is not null && !File.Exists(path))
                    throw new AgentOptionException($"{KvstoreConfigFlag} {file}: {key} {path}: no such file");
        }
        return new MeshSources(flags.K8sManifests, flags.KvstoreConfig, flags.ClusterMeshConfig, max,
            flags.PolicyAwareSelection, flags.PolicyDefaultLocalCluster, flags.K8sKubeconfig, flags.K8sInCluster);
    }

    /// <summary>The kubeconfig must exist and parse now (its errors name the file and the field); the server is
    /// contacted only when the source starts.</summary>
    private static void CheckKubeconfig(string file)
    {
        if (!File.Exists(file))
            throw new AgentOptionException($"{ApiServerSource.KubeconfigFlag} {file}: no such file");
        try
        {
            KubeconfigFile.Load(file);
        }
        catch (KubeApiException e)
        {
            throw new AgentOptionException($"{ApiServerSource.KubeconfigFlag}: {e.Message}");
        }
    }

    /// <summary>Reads the manifests (and parses their policies) once so a bad file stops start-up before XDP is attached.</summary>
    private static void CheckManifests(string directory)
    {
        var source = new ManifestDirectorySource(directory);
        try
        {
            source.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
            foreach (PolicyDocument policy in source.Current.Policies)
                PolicyParser.ParseDocument(policy.Document, policy.Source.FileName, policy.Source.Document);
        }
        catch (ManifestException e)
        {
            throw new AgentOptionException($"{ManifestDirectorySource.Flag}: {e.Message}");
        }
        catch (PolicyParseException e)
        {
            throw new AgentOptionException($"{ManifestDirectorySource.Flag}: {e.Message}");
        }
        finally
        {
            source.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}

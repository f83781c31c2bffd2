using System.Net;

namespace FastPath.Agent.Commands;

/// <summary>The one line `fastpath agent --validate-config` prints when every flag and file checked out.</summary>
internal static class ConfigSummary
{
    public static string Describe(AgentOptions options, IPEndPoint stats)
    {
        string mode = options.Mesh is { } mesh
            ? $"mesh (k8s {MeshControl.KubernetesDescription(mesh)}, kvstore {mesh.KvstoreConfig ?? "none"}, clustermesh config {mesh.ClusterMeshConfig ?? "none"})"
            : options.ServicesFile is { } file ? $"standalone (services {file})" : "standalone (no services)";
        return $"config ok: cluster {options.ClusterName} (id {options.ClusterId}), devices {string.Join(",", options.DevicePatterns)}, " +
            $"{mode}, xdp {options.XdpMode.ToString().ToLowerInvariant()}, pin dir {options.PinDirectory}, stats {stats}";
    }
}

using System.Net;
using Datapath.Tests.Infrastructure;

namespace FastPath.Demo;

/// <summary>
/// tokyo's Kubernetes objects, as the files the agent watches (--k8s-manifests): the global Service
/// bookstore, its EndpointSlice (tokyo's pods) and seed 000's CiliumNetworkPolicy. Every write is a
/// rename, so the watcher never reads half a file.
/// </summary>
internal sealed class TokyoManifests(string directory)
{
    private string ServiceFile => Path.Combine(directory, "bookstore-service.yaml");
    private string SliceFile => Path.Combine(directory, "bookstore-slice.yaml");
    private string PolicyFile => Path.Combine(directory, "allow-netshoot-to-tokyo.yaml");

    public string Directory => directory;

    /// <summary>bookstore, global; affinity none|local|remote (null: no annotation).</summary>
    public void WriteService(string? affinity) =>
        AtomicFile.Replace(ServiceFile, Seed000Objects.GlobalService(Topology.Vip.ToString(), Topology.VipPort, Topology.PodPort, affinity));

    public void WriteSlice(IReadOnlyList<IPAddress> pods) =>
        AtomicFile.Replace(SliceFile, Seed000Objects.EndpointSlice("bookstore-tokyo", Topology.PodPort, pods.Select(ip => ip.ToString())));

    public void DeleteSlice() => File.Delete(SliceFile);

    /// <summary>Seed 000's last policy: netshoot may reach bookstore in tokyo only (its DNS rule is left out:
    /// the demo resolves nothing).</summary>
    public void WritePolicy() =>
        AtomicFile.Replace(PolicyFile, Seed000Objects.NetshootToBookstore("allow-netshoot-to-tokyo", Topology.Tokyo, ns: "default"));
}

using Datapath.Tests.Infrastructure;

namespace Datapath.Tests;

/// <summary>
/// Mesh-mode flags are checked at start-up, before any XDP program is attached (SPEC §2): the
/// published agent (bin/fastpath) exits 2 with a message naming the flag or file and what is allowed.
/// No namespace is touched: every case fails in validation.
/// </summary>
public sealed class ClusterMeshFlagTests : IDisposable
{
    private readonly FlagScratch _scratch = new("flags");

    public ClusterMeshFlagTests()
    {
        _scratch.CreateDirectory("manifests");
        _scratch.CreateDirectory("mesh");
        _scratch.Write("services.yaml", "services: []\n");
        _scratch.Write(Path.Combine("bad-manifests", "broken.yaml"), "apiVersion: v1\nkind: Service\nmetadata: [oops\n");
        _scratch.Write("kvstore.yaml", "not: an etcd config\n");
    }

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("--services and --k8s-manifests are mutually exclusive", "--services", "{root}/services.yaml", "--k8s-manifests", "{root}/manifests")]
    [InlineData("--max-connected-clusters 300: expected 255 or 511", "--max-connected-clusters", "300")]
    [InlineData("--cluster-id 0: with --clustermesh-config or --kvstore-config expected 1-255", "--clustermesh-config", "{root}/mesh")]
    [InlineData("--cluster-id 300: expected 0 (standalone) or 1-255", "--cluster-id", "300", "--clustermesh-config", "{root}/mesh")]
    [InlineData("--clustermesh-config {root}/nowhere: no such directory", "--cluster-id", "1", "--clustermesh-config", "{root}/nowhere")]
    [InlineData("broken.yaml doc 1: malformed YAML", "--k8s-manifests", "{root}/bad-manifests")]
    [InlineData("--kvstore-config: etcd config {root}/kvstore.yaml", "--cluster-id", "1", "--kvstore-config", "{root}/kvstore.yaml")]
    public void A_bad_mesh_flag_stops_start_up_naming_the_flag_or_file(string expected, params string[] flags) =>
        _scratch.AssertStartUpRefused(expected, flags);
}

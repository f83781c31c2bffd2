using Datapath.Tests.Infrastructure;

namespace Datapath.Tests;

/// <summary>
/// Mesh-mode flags are checked at start-up, before any XDP program is attached (SPEC §2): the
/// published agent (bin/fastpath) exits 2 with a message naming the flag or file and what is allowed.
/// No namespace is touched: every case fails in validation.
/// </summary>
public sealed class ClusterMeshFlagTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"fp-flags-{Guid.NewGuid():N}");

    public ClusterMeshFlagTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "manifests"));
        Directory.CreateDirectory(Path.Combine(_root, "mesh"));
        Directory.CreateDirectory(Path.Combine(_root, "bad-manifests"));
        File.WriteAllText(Path.Combine(_root, "services.yaml"), "services: []\n");
        File.WriteAllText(Path.Combine(_root, "bad-manifests", "broken.yaml"), "apiVersion: v1\nkind: Service\nmetadata: [oops\n");
        File.WriteAllText(Path.Combine(_root, "kvstore.yaml"), "not: an etcd config\n");
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Theory]
    [InlineData("--services and --k8s-manifests are mutually exclusive", "--services", "{root}/services.yaml", "--k8s-manifests", "{root}/manifests")]
    [InlineData("--max-connected-clusters 300: expected 255 or 511", "--max-connected-clusters", "300")]
    [InlineData("--cluster-id 0: with --clustermesh-config or --kvstore-config expected 1-255", "--clustermesh-config", "{root}/mesh")]
    [InlineData("--cluster-id 300: expected 0 (standalone) or 1-255", "--cluster-id", "300", "--clustermesh-config", "{root}/mesh")]
    [InlineData("--clustermesh-config {root}/nowhere: no such directory", "--cluster-id", "1", "--clustermesh-config", "{root}/nowhere")]
    [InlineData("broken.yaml doc 1: malformed YAML", "--k8s-manifests", "{root}/bad-manifests")]
    [InlineData("--kvstore-config: etcd config {root}/kvstore.yaml", "--cluster-id", "1", "--kvstore-config", "{root}/kvstore.yaml")]
    public void A_bad_mesh_flag_stops_start_up_naming_the_flag_or_file(string expected, params string[] flags)
    {
        var args = new List<string> { "agent", "--devices", "lo" };
        args.AddRange(flags.Select(f => f.Replace("{root}", _root)));
        var (exit, stdout, stderr) = Shell.TryRun(TimeSpan.FromSeconds(30), RepoPaths.Agent, [.. args]);
        Assert.Equal(2, exit);
        Assert.Contains(expected.Replace("{root}", _root), stderr);
        Assert.DoesNotContain("fastpath: ready", stdout);
    }
}

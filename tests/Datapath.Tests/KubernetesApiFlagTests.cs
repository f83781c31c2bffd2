using Datapath.Tests.Infrastructure;

namespace Datapath.Tests;

/// <summary>
/// The API server source's flags (<c>--k8s-kubeconfig FILE</c>, <c>--k8s-in-cluster</c>) are checked at start-up,
/// before any XDP program is attached: the published agent (bin/fastpath) exits 2 naming the flags, the file
/// and the field. No namespace is touched and no API server is contacted: every case fails in validation.
/// </summary>
public sealed class KubernetesApiFlagTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"fp-k8sflags-{Guid.NewGuid():N}");

    public KubernetesApiFlagTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "manifests"));
        File.WriteAllText(Path.Combine(_root, "services.yaml"), "services: []\n");
        File.WriteAllText(Path.Combine(_root, "kubeconfig"), """
            apiVersion: v1
            kind: Config
            current-context: c
            contexts: [{name: c, context: {cluster: k, user: u}}]
            clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]
            users: [{name: u, user: {token: t}}]
            """);
        File.WriteAllText(Path.Combine(_root, "insecure"), """
            apiVersion: v1
            kind: Config
            current-context: c
            contexts: [{name: c, context: {cluster: k, user: u}}]
            clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
            users: [{name: u, user: {token: t}}]
            """);
        File.WriteAllText(Path.Combine(_root, "broken"), "clusters: [unclosed\n");
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Theory]
    [InlineData("--k8s-manifests and --k8s-kubeconfig are mutually exclusive", "--k8s-manifests", "{root}/manifests", "--k8s-kubeconfig", "{root}/kubeconfig")]
    [InlineData("--k8s-kubeconfig and --k8s-in-cluster are mutually exclusive", "--k8s-kubeconfig", "{root}/kubeconfig", "--k8s-in-cluster")]
    [InlineData("--k8s-manifests and --k8s-in-cluster are mutually exclusive", "--k8s-manifests", "{root}/manifests", "--k8s-in-cluster")]
    [InlineData("--services and --k8s-in-cluster are mutually exclusive", "--services", "{root}/services.yaml", "--k8s-in-cluster")]
    [InlineData("--services and --k8s-kubeconfig are mutually exclusive", "--services", "{root}/services.yaml", "--k8s-kubeconfig", "{root}/kubeconfig")]
    [InlineData("--k8s-kubeconfig {root}/nowhere: no such file", "--k8s-kubeconfig", "{root}/nowhere")]
    [InlineData("--k8s-kubeconfig: {root}/insecure: clusters[k].cluster.insecure-skip-tls-verify: refused", "--k8s-kubeconfig", "{root}/insecure")]
    [InlineData("--k8s-kubeconfig: {root}/broken: malformed YAML", "--k8s-kubeconfig", "{root}/broken")]
    public void A_bad_API_source_flag_stops_start_up_naming_the_flags_or_the_file(string expected, params string[] flags)
    {
        var args = new List<string> { "agent", "--devices", "lo" };
        args.AddRange(flags.Select(f => f.Replace("{root}", _root)));
        var (exit, stdout, stderr) = Shell.TryRun(TimeSpan.FromSeconds(30), RepoPaths.Agent, [.. args]);
        Assert.Equal(2, exit);
        Assert.Contains(expected.Replace("{root}", _root), stderr);
        Assert.DoesNotContain("fastpath: ready", stdout);
    }
}

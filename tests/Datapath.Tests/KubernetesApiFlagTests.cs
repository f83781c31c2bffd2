using Datapath.Tests.Infrastructure;

namespace Datapath.Tests;

/// <summary>
/// The API server source's flags (<c>--k8s-kubeconfig FILE</c>, <c>--k8s-in-cluster</c>) are checked at start-up,
/// before any XDP program is attached: the published agent (bin/fastpath) exits 2 naming the flags, the file
/// and the field. No namespace is touched and no API server is contacted: every case fails in validation.
/// </summary>
public sealed class KubernetesApiFlagTests : IDisposable
{
    private readonly FlagScratch _scratch = new("k8sflags");

    public KubernetesApiFlagTests()
    {
        _scratch.CreateDirectory("manifests");
        _scratch.Write("services.yaml", "services: []\n");
        _scratch.Write("kubeconfig", """
            apiVersion: v1
            kind: Config
            current-context: c
            contexts: [{name: c, context: {cluster: k, user: u}}]
            clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]
            users: [{name: u, user: {token: t}}]
            """);
        _scratch.Write("insecure", """
            apiVersion: v1
            kind: Config
            current-context: c
            contexts: [{name: c, context: {cluster: k, user: u}}]
            clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
            users: [{name: u, user: {token: t}}]
            """);
        _scratch.Write("broken", "clusters: [unclosed\n");
    }

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("--k8s-manifests and --k8s-kubeconfig are mutually exclusive", "--k8s-manifests", "{root}/manifests", "--k8s-kubeconfig", "{root}/kubeconfig")]
    [InlineData("--k8s-kubeconfig and --k8s-in-cluster are mutually exclusive", "--k8s-kubeconfig", "{root}/kubeconfig", "--k8s-in-cluster")]
    [InlineData("--k8s-manifests and --k8s-in-cluster are mutually exclusive", "--k8s-manifests", "{root}/manifests", "--k8s-in-cluster")]
    [InlineData("--services and --k8s-in-cluster are mutually exclusive", "--services", "{root}/services.yaml", "--k8s-in-cluster")]
    [InlineData("--services and --k8s-kubeconfig are mutually exclusive", "--services", "{root}/services.yaml", "--k8s-kubeconfig", "{root}/kubeconfig")]
    [InlineData("--k8s-kubeconfig {root}/nowhere: no such file", "--k8s-kubeconfig", "{root}/nowhere")]
    [InlineData("--k8s-kubeconfig: {root}/insecure: clusters[k].cluster.insecure-skip-tls-verify: refused", "--k8s-kubeconfig", "{root}/insecure")]
    [InlineData("--k8s-kubeconfig: {root}/broken: malformed YAML", "--k8s-kubeconfig", "{root}/broken")]
    public void A_bad_API_source_flag_stops_start_up_naming_the_flags_or_the_file(string expected, params string[] flags) =>
        _scratch.AssertStartUpRefused(expected, flags);
}

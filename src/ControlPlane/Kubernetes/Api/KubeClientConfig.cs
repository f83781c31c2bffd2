using System.Net;
using System.Security.Cryptography.X509Certificates;
using FastPath.ControlPlane.Tls;

namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>
/// Where the API server is and how to authenticate to it: from the pod's service account
/// (<see cref="InCluster"/>, <c>--k8s-in-cluster</c>) or from a kubeconfig file
/// (<see cref="KubeconfigFile.Load"/>, <c>--k8s-kubeconfig</c>).
/// </summary>
/// <param name="Server">Base URL, e.g. <c>https://10.96.0.1:443</c> or <c>https://[fd00::1]:443</c>.</param>
/// <param name="CertificateAuthorities">The CAs the server certificate must chain to; null = the system trust store.</param>
/// <param name="ClientCertificate">For mutual TLS (kubeconfig client-certificate + client-key); null otherwise.</param>
/// <param name="Token">Bearer token, possibly re-read from a rotating file.</param>
/// <param name="Namespace">The pod's (or context's) namespace; informational — every watch is cluster wide.</param>
/// <param name="InsecureSkipTlsVerify">Only when the caller explicitly allowed it (never from the agent's flags).</param>
/// <param name="Origin">What the config came from, for messages: "in-cluster service account" or "kubeconfig FILE".</param>
public sealed record KubeClientConfig(
    Uri Server,
    X509Certificate2Collection? CertificateAuthorities,
    X509Certificate2? ClientCertificate,
    KubeTokenSource Token,
    string Namespace,
    bool InsecureSkipTlsVerify,
    string Origin)
{
    /// <summary>Where the kubelet mounts a pod's service-account credentials.</summary>
    public const string DefaultServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    public const string HostVariable = "KUBERNETES_SERVICE_HOST";
    public const string PortVariable = "KUBERNETES_SERVICE_PORT";

    /// <summary>
    /// The in-cluster config: server from <c>KUBERNETES_SERVICE_HOST</c>/<c>KUBERNETES_SERVICE_PORT</c>, CA from
    /// <c>ca.crt</c>, token from <c>token</c> (re-read as the kubelet rotates it), namespace from <c>namespace</c>.
    /// </summary>
    /// <param name="serviceAccountDirectory">Injectable for tests; default <see cref="DefaultServiceAccountDirectory"/>.</param>
    /// <param name="environment">Injectable for tests; default <see cref="Environment.GetEnvironmentVariable(string)"/>.</param>
    public static KubeClientConfig InCluster(
        string? serviceAccountDirectory = null, Func<string, string?>? environment = null, TimeSpan? tokenRefresh = null)
    {
        string directory = serviceAccountDirectory ?? DefaultServiceAccountDirectory;
        environment ??= Environment.GetEnvironmentVariable;
        string? host = environment(HostVariable);
        string? port = environment(PortVariable);
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port))
            throw new KubeApiException(
                $"in-cluster config: {HostVariable} and {PortVariable} must be set (they are in a pod); outside a cluster use --k8s-kubeconfig");
        if (!int.TryParse(port, out int portNumber) || portNumber is < 1 or > 65535)
            throw new KubeApiException($"in-cluster config: {PortVariable} '{port}': expected a port 1-65535");
        // An IPv6 literal must be bracketed in a URL (https://[fd00::1]:443).
        string hostPart = IPAddress.TryParse(host, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{host}]"
            : host;
        if (!Uri.TryCreate($"https://{hostPart}:{portNumber}", UriKind.Absolute, out var server))
            throw new KubeApiException($"in-cluster config: {HostVariable} '{host}': not a host name or address");

        string caFile = Path.Combine(directory, "ca.crt");
        var ca = LoadCertificateAuthorities(caFile, "ca.crt", null);
        var token = KubeTokenSource.FromFile(Path.Combine(directory, "token"), "service-account token", tokenRefresh);
        string namespaceFile = Path.Combine(directory, "namespace");
        string ns = File.Exists(namespaceFile) ? File.ReadAllText(namespaceFile).Trim() : "default";
        return new KubeClientConfig(server, ca, null, token, ns.Length == 0 ? "default" : ns, false,
            $"in-cluster service account ({directory})");
    }

    /// <summary>Reads a PEM CA bundle from a file, or from already-decoded PEM text (<paramref name="pem"/>).</summary>
    internal static X509Certificate2Collection LoadCertificateAuthorities(string where, string field, string? pem)
    {
        try
        {
            return pem is null ? CaBundle.FromFile(where) : CaBundle.FromPem(pem);
        }
        catch (Exception e) when (CaBundle.IsLoadError(e))
        {
            throw new KubeApiException($"{where}: {field}: cannot load CA certificates: {e.Message}", e);
        }
    }
}

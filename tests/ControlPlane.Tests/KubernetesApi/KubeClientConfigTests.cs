using System.Text;
using FastPath.ControlPlane.Kubernetes.Api;
using FastPath.ControlPlane.Tests.Kvstore;

namespace FastPath.ControlPlane.Tests.KubernetesApi;

/// <summary>
/// Kubeconfig files (data vs file fields, token, tokenFile, client certificates) and the in-cluster config
/// (service-account directory + environment), each checked against the fake API server where it matters.
/// </summary>
public sealed class KubeClientConfigTests
{
    private static string Base64File(string path) => Convert.ToBase64String(Encoding.ASCII.GetBytes(File.ReadAllText(path)));

    private static string Kubeconfig(string server, string cluster, string user, string context = "ctx") => $"""
        apiVersion: v1
        kind: Config
        current-context: {context}
        contexts:
        - name: other
          context: {"{"}cluster: nowhere, user: nobody{"}"}
        - name: ctx
          context:
            cluster: test-cluster
            user: test-user
            namespace: kube-system
        clusters:
        - name: test-cluster
          cluster:
            server: {server}
        {cluster}
        users:
        - name: test-user
          user:
        {user}
        """;

    private static string Indent(string text, int spaces) =>
        string.Join("\n", text.Split('\n').Select(l => new string(' ', spaces) + l));

    [Fact]
    public async Task A_kubeconfig_with_inline_CA_data_and_a_token_reaches_the_server()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        string file = Path.Combine(env.Directory, "kubeconfig");
        File.WriteAllText(file, Kubeconfig(env.Server.Server.ToString().TrimEnd('/'),
            Indent($"certificate-authority-data: {Base64File(env.Certificates.CaFile)}", 4),
            Indent($"token: {FakeKubeApiServer.Token}", 4)));

        var config = KubeconfigFile.Load(file);
        Assert.Equal("kube-system", config.Namespace);
        Assert.Null(config.ClientCertificate);
        var source = env.Source(config);
        await source.StartAsync(CancellationToken.None);
        Assert.All(env.Server.Requests, r => Assert.Equal($"Bearer {FakeKubeApiServer.Token}", r.Authorization));
    }

    [Fact]
    public async Task A_kubeconfig_with_file_paths_relative_to_itself_and_a_client_certificate_authenticates_with_mutual_TLS()
    {
        await using var env = await ApiTestEnvironment.StartAsync(requireClientCertificate: true);
        env.Server.AcceptedToken = null; // certificate only
        string file = Path.Combine(env.Directory, "kubeconfig");
        File.WriteAllText(file, Kubeconfig(env.Server.Server.ToString().TrimEnd('/'),
            Indent("certificate-authority: pki/ca.pem", 4),
            Indent("client-certificate: pki/client.pem\nclient-key: pki/client-key.pem", 4)));

        var config = KubeconfigFile.Load(file);
        Assert.NotNull(config.ClientCertificate);
        await env.Source(config).StartAsync(CancellationToken.None);
        Assert.All(env.Server.Requests, r => Assert.Equal("CN=fastpath-client", r.ClientCertificateSubject));
        Assert.All(env.Server.Requests, r => Assert.Null(r.Authorization));
    }

    [Fact]
    public async Task Client_certificate_and_key_data_fields_work_like_the_file_fields()
    {
        await using var env = await ApiTestEnvironment.StartAsync(requireClientCertificate: true);
        env.Server.AcceptedToken = null;
        string file = Path.Combine(env.Directory, "kubeconfig");
        File.WriteAllText(file, Kubeconfig(env.Server.Server.ToString().TrimEnd('/'),
            Indent($"certificate-authority-data: {Base64File(env.Certificates.CaFile)}", 4),
            Indent($"client-certificate-data: {Base64File(env.Certificates.ClientCertFile)}\nclient-key-data: {Base64File(env.Certificates.ClientKeyFile)}", 4)));

        await env.Source(KubeconfigFile.Load(file)).StartAsync(CancellationToken.None);
        Assert.Equal(4, env.Server.Requests.Count( // one list per resource, each with the certificate
            r => r.ClientCertificateSubject == "CN=fastpath-client" && !r.Query.ContainsKey("watch")));
    }

    [Fact]
    public async Task A_client_certificate_from_an_untrusted_CA_is_refused_by_the_server()
    {
        await using var env = await ApiTestEnvironment.StartAsync(requireClientCertificate: true);
        env.Server.AcceptedToken = null;
        string file = Path.Combine(env.Directory, "kubeconfig");
        File.WriteAllText(file, Kubeconfig(env.Server.Server.ToString().TrimEnd('/'),
            Indent("certificate-authority: pki/ca.pem", 4),
            Indent("client-certificate: pki/rogue-client.pem\nclient-key: pki/rogue-client-key.pem", 4)));

        var error = await Assert.ThrowsAsync<KubeApiException>(() => env.Source(KubeconfigFile.Load(file)).StartAsync(CancellationToken.None));
        Assert.Contains("Services", error.Message);
        Assert.Empty(env.Server.Requests);
    }

    [Fact]
    public void A_token_file_is_read_relative_to_the_kubeconfig()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"fp-kubeconfig-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            File.WriteAllText(Path.Combine(directory, "token"), "from-the-file\n");
            string file = Path.Combine(directory, "config");
            File.WriteAllText(file, Kubeconfig("https://127.0.0.1:6443", "", Indent("tokenFile: token", 4)));
            var config = KubeconfigFile.Load(file);
            Assert.Equal("from-the-file", config.Token.Current());
            Assert.Equal(Path.Combine(directory, "token"), config.Token.File);
            Assert.Null(config.CertificateAuthorities); // no CA given: the system store
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    public static TheoryData<string, string, string, string> BadKubeconfigs => new()
    {
        // description, cluster lines, user lines, expected text in the error (besides the file name)
        { "insecure skip", "insecure-skip-tls-verify: true", "token: t", "clusters[test-cluster].cluster.insecure-skip-tls-verify" },
        { "exec plugin", "", "exec: {command: aws}", "users[test-user].user.exec" },
        { "cert without key", "", "client-certificate: pki/none.pem", "users[test-user].user.client-key" },
        { "bad base64", "certificate-authority-data: '%%%'", "token: t", "clusters[test-cluster].cluster.certificate-authority-data" },
        { "missing CA file", "certificate-authority: nowhere.pem", "token: t", "certificate-authority" },
    };

    [Theory]
    [MemberData(nameof(BadKubeconfigs))]
    public void A_bad_kubeconfig_is_refused_with_an_error_naming_the_file_and_the_field(string description, string cluster, string user, string field)
    {
        string directory = Path.Combine(Path.GetTempPath(), $"fp-kubeconfig-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            string file = Path.Combine(directory, "config");
            File.WriteAllText(file, Kubeconfig("https://127.0.0.1:6443", Indent(cluster, 4), Indent(user, 4)));
            var error = Assert.Throws<KubeApiException>(() => KubeconfigFile.Load(file));
            Assert.True(error.Message.Contains(file) && error.Message.Contains(field), $"{description}: {error.Message}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_missing_current_context_entry_and_malformed_YAML_name_the_file()
    {
        string directory = Path.Combine(Path.GetTempPath(), $"fp-kubeconfig-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            string file = Path.Combine(directory, "config");
            File.WriteAllText(file, Kubeconfig("https://127.0.0.1:6443", "", "    token: t", context: "ghost"));
            var error = Assert.Throws<KubeApiException>(() => KubeconfigFile.Load(file));
            Assert.Contains($"{file}: contexts: no entry named \"ghost\"", error.Message);

            File.WriteAllText(file, "clusters: [unclosed\n");
            error = Assert.Throws<KubeApiException>(() => KubeconfigFile.Load(file));
            Assert.Contains(file, error.Message);
            Assert.Contains("malformed YAML", error.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task The_in_cluster_config_reads_the_service_account_directory_and_follows_a_rotated_token()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        string account = Path.Combine(env.Directory, "serviceaccount");
        Directory.CreateDirectory(account);
        File.Copy(env.Certificates.CaFile, Path.Combine(account, "ca.crt"));
        File.WriteAllText(Path.Combine(account, "token"), FakeKubeApiServer.Token);
        File.WriteAllText(Path.Combine(account, "namespace"), "fastpath-system");
        var variables = new Dictionary<string, string>
        {
            [KubeClientConfig.HostVariable] = "127.0.0.1",
            [KubeClientConfig.PortVariable] = env.Server.Server.Port.ToString(),
        };

        var config = KubeClientConfig.InCluster(account, name => variables.GetValueOrDefault(name), tokenRefresh: TimeSpan.Zero);
        Assert.Equal("fastpath-system", config.Namespace);
        Assert.Equal(new Uri($"https://127.0.0.1:{env.Server.Server.Port}"), config.Server);
        var source = env.Source(config);
        await source.StartAsync(CancellationToken.None);
        await Wait.UntilAsync(() => env.Server.WatchesOf(KubeResource.Services).Any(), "the services watch");

        // The kubelet rotates the token: the next request must carry the new one.
        File.WriteAllText(Path.Combine(account, "token"), "rotated-token");
        env.Server.AcceptedToken = "rotated-token";
        env.Server.Drop(KubeResource.Services);
        await Wait.UntilAsync(() => env.Server.WatchesOf(KubeResource.Services).Any(r => r.Authorization == "Bearer rotated-token"),
            "a watch with the rotated token", state: () => env.LogText);
    }

    [Fact]
    public void An_IPv6_service_host_is_bracketed_in_the_server_URL()
    {
        string account = Path.Combine(Path.GetTempPath(), $"fp-sa-{Guid.NewGuid():N}");
        Directory.CreateDirectory(account);
        try
        {
            new Etcd.TestCertificates(Path.Combine(account, "pki"));
            File.Copy(Path.Combine(account, "pki", "ca.pem"), Path.Combine(account, "ca.crt"));
            File.WriteAllText(Path.Combine(account, "token"), "t");
            var variables = new Dictionary<string, string> { [KubeClientConfig.HostVariable] = "fd00:10:96::1", [KubeClientConfig.PortVariable] = "443" };
            var config = KubeClientConfig.InCluster(account, name => variables.GetValueOrDefault(name));
            Assert.Equal("https://[fd00:10:96::1]/", config.Server.ToString()); // 443 is https' default port
            Assert.Equal("[fd00:10:96::1]", config.Server.Host);
            Assert.Equal("default", config.Namespace); // no namespace file
        }
        finally
        {
            Directory.Delete(account, recursive: true);
        }
    }

    [Fact]
    public void Outside_a_pod_the_in_cluster_config_says_which_variables_are_missing_and_what_to_use_instead()
    {
        var error = Assert.Throws<KubeApiException>(() => KubeClientConfig.InCluster("/nonexistent", _ => null));
        Assert.Contains(KubeClientConfig.HostVariable, error.Message);
        Assert.Contains("--k8s-kubeconfig", error.Message);

        var variables = new Dictionary<string, string> { [KubeClientConfig.HostVariable] = "10.96.0.1", [KubeClientConfig.PortVariable] = "443" };
        error = Assert.Throws<KubeApiException>(() => KubeClientConfig.InCluster("/nonexistent-sa", name => variables.GetValueOrDefault(name)));
        Assert.Contains("/nonexistent-sa/ca.crt", error.Message);
    }
}

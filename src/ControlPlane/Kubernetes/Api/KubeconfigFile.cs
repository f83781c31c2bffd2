using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>
/// Reads a kubeconfig (<c>--k8s-kubeconfig FILE</c>): the <c>current-context</c>'s cluster (server,
/// certificate-authority or certificate-authority-data) and user (token, tokenFile,
/// client-certificate(-data) + client-key(-data)). Relative file paths are relative to the kubeconfig's
/// directory, as kubectl reads them. Exec and auth-provider plugins are not supported (they run programs).
/// Every error names the file and the field: <c>/etc/kube.conf: users[admin].user.client-key: ...</c>.
/// </summary>
public static class KubeconfigFile
{
    /// <param name="allowInsecureSkipTlsVerify">Without it, <c>insecure-skip-tls-verify: true</c> is refused:
    /// a man in the middle could then feed the agent any services and policies.</param>
    public static KubeClientConfig Load(string file, bool allowInsecureSkipTlsVerify = false)
    {
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KubeApiException($"{file}: cannot read kubeconfig: {e.Message}", e);
        }

        YamlMappingNode root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            root = stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode m
                ? m
                : throw new KubeApiException($"{file}: expected a kubeconfig mapping (apiVersion: v1, kind: Config)");
        }
        catch (YamlException e)
        {
            throw new KubeApiException($"{file}: malformed YAML at line {e.Start.Line} column {e.Start.Column}: {e.Message}", e);
        }

        string directory = Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".";
        var reader = new Reader(file, directory);
        string contextName = reader.RequiredString(root, "current-context", "");
        var context = reader.Named(root, "contexts", contextName, "context");
        string contextPath = $"contexts[{contextName}].context";
        string clusterName = reader.RequiredString(context, "cluster", contextPath);
        string userName = reader.OptionalString(context, "user", contextPath) ?? "";
        string ns = reader.OptionalString(context, "namespace", contextPath) is { Length: > 0 } n ? n : "default";

        var cluster = reader.Named(root, "clusters", clusterName, "cluster");
        string clusterPath = $"clusters[{clusterName}].cluster";
        string serverText = reader.RequiredString(cluster, "server", clusterPath);
        if (!Uri.TryCreate(serverText, UriKind.Absolute, out var server) || server.Scheme != Uri.UriSchemeHttps)
            throw reader.Error($"{clusterPath}.server", $"expected an https:// URL, got \"{serverText}\"");

        bool insecure = reader.OptionalString(cluster, "insecure-skip-tls-verify", clusterPath) is "true";
        if (insecure && !allowInsecureSkipTlsVerify)
            throw reader.Error($"{clusterPath}.insecure-skip-tls-verify",
                "refused: the API server's certificate must be verified (give certificate-authority or certificate-authority-data)");

        X509Certificate2Collection? ca = null;
        if (reader.OptionalString(cluster, "certificate-authority-data", clusterPath) is { Length: > 0 } caData)
            ca = KubeClientConfig.LoadCertificateAuthorities(file, $"{clusterPath}.certificate-authority-data",
                reader.Base64Text(caData, $"{clusterPath}.certificate-authority-data"));
        else if (reader.OptionalString(cluster, "certificate-authority", clusterPath) is { Length: > 0 } caFile)
            ca = KubeClientConfig.LoadCertificateAuthorities(reader.Resolve(caFile), $"{clusterPath}.certificate-authority (in {file})", null);

        var token = KubeTokenSource.None;
        X509Certificate2? clientCertificate = null;
        if (userName.Length > 0)
        {
            var user = reader.Named(root, "users", userName, "user");
            string userPath = $"users[{userName}].user";
            foreach (string plugin in new[] { "exec", "auth-provider" })
                if (user.Children.ContainsKey(new YamlScalarNode(plugin)))
                    throw reader.Error($"{userPath}.{plugin}", "credential plugins are not supported; use token, tokenFile or a client certificate");

            if (reader.OptionalString(user, "token", userPath) is { Length: > 0 } fixedToken)
                token = KubeTokenSource.Fixed(fixedToken);
            else if (reader.OptionalString(user, "tokenFile", userPath) is { Length: > 0 } tokenFile)
                token = KubeTokenSource.FromFile(reader.Resolve(tokenFile), $"{userPath}.tokenFile (in {file})");

            clientCertificate = reader.ClientCertificate(user, userPath);
        }

        return new KubeClientConfig(server, ca, clientCertificate, token, ns, insecure, $"kubeconfig {file}");
    }

    /// <summary>Field reads that name the file and the path on failure.</summary>
    private sealed class Reader(string file, string directory)
    {
        public KubeApiException Error(string path, string problem) => new($"{file}: {path}: {problem}");

        public string? OptionalString(YamlMappingNode map, string key, string path)
        {
            if (!map.Children.TryGetValue(new YamlScalarNode(key), out var node))
                return null;
            return node is YamlScalarNode scalar
                ? scalar.Value
                : throw Error(Join(path, key), "expected a string");
        }

        public string RequiredString(YamlMappingNode map, string key, string path) =>
            OptionalString(map, key, path) is { Length: > 0 } value ? value : throw Error(Join(path, key), "required field is missing");

        /// <summary>The <paramref name="inner"/> mapping of the entry of list <paramref name="list"/> whose name is <paramref name="name"/>.</summary>
        public YamlMappingNode Named(YamlMappingNode root, string list, string name, string inner)
        {
            if (!root.Children.TryGetValue(new YamlScalarNode(list), out var node) || node is not YamlSequenceNode sequence)
                throw Error(list, $"expected a list holding \"{name}\"");
            foreach (var entry in sequence.Children)
            {
                if (entry is YamlMappingNode mapping && OptionalString(mapping, "name", list) == name)
                    return mapping.Children.TryGetValue(new YamlScalarNode(inner), out var body) && body is YamlMappingNode m
                        ? m
                        : throw Error($"{list}[{name}].{inner}", "expected a mapping");
            }
            throw Error(list, $"no entry named \"{name}\"");
        }

        public string Resolve(string path) => Path.IsPathRooted(path) ? path : Path.Combine(directory, path);

        public string Base64Text(string data, string path)
        {
            try
            {
                return Encoding.ASCII.GetString(Convert.FromBase64String(data));
            }
            catch (FormatException e)
            {
                throw new KubeApiException($"{file}: {path}: expected base64 of PEM text: {e.Message}", e);
            }
        }

        public X509Certificate2? ClientCertificate(YamlMappingNode user, string userPath)
        {
            string? certData = OptionalString(user, "client-certificate-data", userPath);
            string? certFile = OptionalString(user, "client-certificate", userPath);
            string? keyData = OptionalString(user, "client-key-data", userPath);
            string? keyFile = OptionalString(user, "client-key", userPath);
            bool hasCert = !string.IsNullOrEmpty(certData) || !string.IsNullOrEmpty(certFile);
            bool hasKey = !string.IsNullOrEmpty(keyData) || !string.IsNullOrEmpty(keyFile);
            if (!hasCert && !hasKey)
                return null;
            if (!hasCert)
                throw Error($"{userPath}.client-certificate", "a client key needs client-certificate or client-certificate-data");
            if (!hasKey)
                throw Error($"{userPath}.client-key", "a client certificate needs client-key or client-key-data");

            var (certPem, certField) = Pem(certData, certFile, "client-certificate", userPath);
            var (keyPem, keyField) = Pem(keyData, keyFile, "client-key", userPath);
            try
            {
                return X509Certificate2.CreateFromPem(certPem, keyPem);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                throw Error($"{userPath}.{certField}", $"cannot load the certificate with {keyField}: {e.Message}");
            }
        }

        /// <summary>PEM text from <c>FIELD-data</c> (base64, preferred when both are given) or from the
        /// file <c>FIELD</c> names, and which of the two it came from.</summary>
        private (string Pem, string Field) Pem(string? data, string? file, string field, string userPath) =>
            !string.IsNullOrEmpty(data)
                ? (Base64Text(data, $"{userPath}.{field}-data"), $"{field}-data")
                : (ReadText(file!, $"{userPath}.{field}"), field);

        private string ReadText(string path, string field)
        {
            string full = Resolve(path);
            try
            {
                return File.ReadAllText(full);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new KubeApiException($"{file}: {field}: cannot read {full}: {e.Message}", e);
            }
        }

        private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
    }
}

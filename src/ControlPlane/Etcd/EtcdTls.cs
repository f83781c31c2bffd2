using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using FastPath.ControlPlane.Tls;

namespace FastPath.ControlPlane.Etcd;

/// <summary>
/// TLS for an etcd connection: client certificate from the config, and the server validated
/// against the config's CA only (never the system store), host name included.
/// </summary>
internal static class EtcdTls
{
    public static SslClientAuthenticationOptions Create(EtcdConfig config)
    {
        string file = config.SourceFile ?? "(inline config)";
        X509Certificate2Collection ca = LoadCa(config.TrustedCaFile!, file);
        var options = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                PrivateCaValidation.ValidateServer(certificate, errors, ca),
        };
        if (config.CertFile is not null && config.KeyFile is not null)
        {
            X509Certificate2 client;
            try
            {
                client = X509Certificate2.CreateFromPemFile(config.CertFile, config.KeyFile);
            }
            catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                throw new EtcdException(
                    $"etcd config {file}: cannot load cert-file {config.CertFile} with key-file {config.KeyFile}: {e.Message}",
                    configFile: file, inner: e);
            }
            options.ClientCertificates = new X509CertificateCollection { client };
        }
        return options;
    }

    private static X509Certificate2Collection LoadCa(string path, string file)
    {
        try
        {
            return CaBundle.FromFile(path);
        }
        catch (Exception e) when (CaBundle.IsLoadError(e))
        {
            throw new EtcdException($"etcd config {file}: cannot load trusted-ca-file {path}: {e.Message}",
                configFile: file, inner: e);
        }
    }
}

using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace FastPath.ControlPlane.Tls;

/// <summary>
/// Server certificate check for clients that trust a configured CA bundle only (etcd's
/// trusted-ca-file, a kubeconfig's certificate-authority): the system store must not vouch for a
/// cluster's private endpoints, and the host name must still match.
/// </summary>
internal static class PrivateCaValidation
{
    public static bool ValidateServer(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection ca)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var server = new X509Certificate2(certificate);
        return chain.Build(server);
    }
}

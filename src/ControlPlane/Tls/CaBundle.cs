using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastPath.ControlPlane.Tls;

/// <summary>
/// A PEM bundle of trusted CAs (etcd's trusted-ca-file, a kubeconfig's certificate-authority(-data),
/// a pod's ca.crt): every certificate in it is trusted, nothing else; a bundle without one is an
/// error. Throws <see cref="IOException"/>, <see cref="UnauthorizedAccessException"/>,
/// <see cref="CryptographicException"/> or <see cref="ArgumentException"/>, which each caller
/// wraps in its own exception naming the config file and field (<see cref="IsLoadError"/>).
/// </summary>
internal static class CaBundle
{
    public static X509Certificate2Collection FromFile(string path)
    {
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPemFile(path);
        return NotEmpty(bundle);
    }

    public static X509Certificate2Collection FromPem(string pem)
    {
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(pem);
        return NotEmpty(bundle);
    }

    /// <summary>The exceptions <see cref="FromFile"/> and <see cref="FromPem"/> throw for unusable input.</summary>
    public static bool IsLoadError(Exception e) =>
        e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException;

    private static X509Certificate2Collection NotEmpty(X509Certificate2Collection bundle) =>
        bundle.Count > 0 ? bundle : throw new ArgumentException("no CERTIFICATE block found");
}

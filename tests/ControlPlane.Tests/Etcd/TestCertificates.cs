using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastPath.ControlPlane.Tests.Etcd;

/// <summary>
/// A throw-away PKI for one test run: a CA, a server certificate (serverAuth AND clientAuth,
/// because etcd 3.4 with client-cert auth dials its own gRPC gateway with the server cert;
/// SAN 127.0.0.1 and localhost) and a client certificate, written as PEM files.
/// </summary>
internal sealed class TestCertificates
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    public TestCertificates(string directory)
    {
        Directory.CreateDirectory(directory);
        CaFile = Path.Combine(directory, "ca.pem");
        ServerCertFile = Path.Combine(directory, "server.pem");
        ServerKeyFile = Path.Combine(directory, "server-key.pem");
        ClientCertFile = Path.Combine(directory, "client.pem");
        ClientKeyFile = Path.Combine(directory, "client-key.pem");
        OtherCaClientCertFile = Path.Combine(directory, "rogue-client.pem");
        OtherCaClientKeyFile = Path.Combine(directory, "rogue-client-key.pem");

        using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 ca = CreateCa("CN=fastpath-test-ca", caKey);
        File.WriteAllText(CaFile, ca.ExportCertificatePem());
        WriteLeaf(ca, "CN=etcd-server", server: true, ServerCertFile, ServerKeyFile);
        WriteLeaf(ca, "CN=fastpath-client", server: false, ClientCertFile, ClientKeyFile);

        // A client certificate from a CA the server does not trust: must be refused.
        using ECDsa rogueKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 rogueCa = CreateCa("CN=rogue-ca", rogueKey);
        WriteLeaf(rogueCa, "CN=rogue-client", server: false, OtherCaClientCertFile, OtherCaClientKeyFile);
    }

    public string CaFile { get; }
    public string ServerCertFile { get; }
    public string ServerKeyFile { get; }
    public string ClientCertFile { get; }
    public string ClientKeyFile { get; }
    public string OtherCaClientCertFile { get; }
    public string OtherCaClientKeyFile { get; }

    private static X509Certificate2 CreateCa(string subject, ECDsa key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));
    }

    private static void WriteLeaf(X509Certificate2 ca, string subject, bool server, string certFile, string keyFile)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature, true));
        var usages = new OidCollection { ClientAuth };
        if (server)
            usages.Add(ServerAuth);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        DateTimeOffset now = DateTimeOffset.UtcNow;
        byte[] serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using X509Certificate2 cert = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), serial);
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
    }
}

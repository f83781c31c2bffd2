using FastPath.ControlPlane.Etcd;

namespace FastPath.ControlPlane.Tests.Etcd;

/// <summary>The etcd client YAML loader (SPEC §5), without a server.</summary>
public sealed class EtcdConfigTests
{
    private const string File = "/etc/cilium/clustermesh/hk";

    [Fact]
    public void RelativePathsResolveAgainstTheFilesDirectoryAndCaFileIsAFallback()
    {
        EtcdConfig config = EtcdConfig.Parse("endpoints:\n- https://hk.mesh:2379\nca-file: ca.crt\ncert-file: tls/c.crt\nkey-file: /abs/k.key\n", File);
        Assert.Equal(new Uri("https://hk.mesh:2379"), Assert.Single(config.Endpoints));
        Assert.Equal("/etc/cilium/clustermesh/ca.crt", config.TrustedCaFile);
        Assert.Equal("/etc/cilium/clustermesh/tls/c.crt", config.CertFile);
        Assert.Equal("/abs/k.key", config.KeyFile);
    }

    [Fact]
    public void TrustedCaFileWinsOverCaFile()
    {
        EtcdConfig config = EtcdConfig.Parse("endpoints: [https://a:2379]\ntrusted-ca-file: t.crt\nca-file: c.crt\n", File);
        Assert.Equal("/etc/cilium/clustermesh/t.crt", config.TrustedCaFile);
    }

    [Fact]
    public void APlaintextEndpointNeedsNoTls()
    {
        EtcdConfig config = EtcdConfig.Parse("endpoints:\n- http://127.0.0.1:2379\n", File);
        Assert.Null(config.TrustedCaFile);
    }

    [Theory]
    [InlineData("endpoints: [https://a:2379\n", "invalid YAML at line")]
    [InlineData("endpoints: [https://127.0.0.1:1\ncert-file: x\n", "invalid YAML")]
    [InlineData("- just\n- a list\n", "expected a YAML mapping")]
    [InlineData("cert-file: c\n", "missing 'endpoints:'")]
    [InlineData("endpoints: []\n", "'endpoints:' is empty")]
    [InlineData("endpoints: [ftp://a]\n", "is not an http:// or https:// URL")]
    [InlineData("endpoints: [https://a:2379]\n", "needs trusted-ca-file")]
    [InlineData("endpoints: [https://a:2379]\nca-file: ca\ncert-file: c\n", "cert-file and key-file must be given together")]
    public void InvalidFilesAreRejectedNamingTheFileAndTheProblem(string yaml, string expected)
    {
        EtcdException e = Assert.Throws<EtcdException>(() => EtcdConfig.Parse(yaml, File));
        Assert.Contains(File, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Equal(File, e.ConfigFile);
    }

    [Theory]
    [InlineData("endpoints:\n- https://a:2379\n", true)]
    [InlineData("# cluster notes\nname: hk\n", false)]
    public void OnlyFilesWithEndpointsCountAsClusterConfigs(string text, bool expected) =>
        Assert.Equal(expected, EtcdConfig.LooksLikeClusterConfig(text));
}

using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Datapath.Tests.Infrastructure;

namespace Operator.Tests.Deployment;

/// <summary>
/// The DaemonSet's ConfigMap against the real agent: its data written as a --config-dir (one file
/// per key, as a ConfigMap volume lays it out) must pass `fastpath agent --validate-config`, and a
/// bad directory must stop start-up naming the file. Paths that exist only in a pod (the etcd
/// config and the Secret mounts) are rewritten to temp files with valid content: a real etcd
/// config YAML and PEM certificates made here.
/// </summary>
public sealed class AgentConfigDirTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"fastpath-deploy-{Guid.NewGuid():N}"[..32]);

    public AgentConfigDirTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void The_base_config_map_is_accepted_by_validate_config()
    {
        var (code, stdout, stderr) = Validate(WriteConfigDir(BaseData()));
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.StartsWith("config ok: cluster default (id 1), devices eth0,lxc+, mesh", stdout.Trim());
        Assert.Contains("stats 127.0.0.1:9962", stdout);
    }

    [Fact]
    public void The_overlay_merged_over_the_base_is_accepted_by_validate_config()
    {
        var data = BaseData();
        var overlay = Path.Combine(DeployFiles.Kustomize, "overlays", "tokyo", "agent-config.yaml");
        foreach (var (key, value) in DeployFiles.Data(DeployFiles.Load(overlay).Single()))
            data[key] = value;
        var (code, stdout, stderr) = Validate(WriteConfigDir(data));
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.StartsWith("config ok: cluster tokyo (id 1), devices ens5,lxc+", stdout.Trim());
    }

    [Fact]
    public void The_command_line_wins_over_the_config_dir()
    {
        var (code, stdout, stderr) = Validate(WriteConfigDir(BaseData()), "--cluster-name", "osaka", "--cluster-id=2");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.StartsWith("config ok: cluster osaka (id 2)", stdout.Trim());
    }

    [Fact]
    public void An_unknown_key_stops_start_up_naming_the_file()
    {
        var data = BaseData();
        data["cluster-nmae"] = "tokyo";
        var result = Validate(WriteConfigDir(data));
        AssertStopped(result, "file 'cluster-nmae' names no agent flag");
        Assert.DoesNotContain("config ok", result.Stdout);
    }

    [Fact]
    public void A_non_boolean_value_for_a_switch_stops_start_up_naming_the_file()
    {
        var data = BaseData();
        data["lb-policy-aware-selection"] = "yes";
        string dir = WriteConfigDir(data);
        AssertStopped(Validate(dir), $"{Path.Combine(dir, "lb-policy-aware-selection")}: 'yes' is not a boolean");
    }

    [Fact]
    public void A_bad_value_from_the_config_dir_fails_the_same_validation_as_the_flag()
    {
        var data = BaseData();
        data["cluster-id"] = "300";
        AssertStopped(Validate(WriteConfigDir(data)), "--cluster-id 300");
    }

    [Fact]
    public void A_missing_certificate_named_by_the_kvstore_config_fails_validation()
    {
        var data = BaseData();
        string dir = WriteConfigDir(data);
        string key = Path.Combine(_root, "etcd-secrets", "etcd-client.key");
        File.Delete(key);
        AssertStopped(Validate(dir), $"key-file {key}: no such file");
    }

    [Fact]
    public void A_config_dir_that_does_not_exist_stops_start_up()
    {
        string missing = Path.Combine(_root, "missing");
        AssertStopped(Validate(missing), $"--config-dir {missing}: no such directory");
    }

    /// <summary>fastpath-config's data with every pod-only path rewritten under this test's temp directory.</summary>
    private Dictionary<string, string> BaseData()
    {
        var data = DeployFiles.Data(DeployFiles.Single("ConfigMap", "fastpath-config", DeployFiles.Kustomize + "/base"));
        string secrets = Path.Combine(_root, "etcd-secrets");
        WriteCertificates(secrets, "etcd-client");
        string etcdConfig = DeployFiles.Data(DeployFiles.Single("ConfigMap", "fastpath-etcd-config"))["etcd.config"];
        Assert.Contains("/var/lib/etcd-secrets/", etcdConfig);
        string etcdConfigFile = Path.Combine(_root, "etcd.config");
        File.WriteAllText(etcdConfigFile, etcdConfig.Replace("/var/lib/etcd-secrets/", secrets + "/"));

        // cilium's clustermesh layout: one YAML per remote cluster, its certificates beside it.
        string mesh = Path.Combine(_root, "clustermesh");
        WriteCertificates(mesh, "osaka.etcd-client");
        File.WriteAllText(Path.Combine(mesh, "osaka"),
            $"endpoints:\n- https://osaka.mesh.cilium.io:2379\ntrusted-ca-file: {mesh}/osaka.etcd-client-ca.crt\n" +
            $"key-file: {mesh}/osaka.etcd-client.key\ncert-file: {mesh}/osaka.etcd-client.crt\n");

        Assert.Equal("/var/lib/etcd-config/etcd.config", data["kvstore-config"]);
        Assert.Equal("/var/lib/cilium/clustermesh", data["clustermesh-config"]);
        data["kvstore-config"] = etcdConfigFile;
        data["clustermesh-config"] = mesh;
        Assert.DoesNotContain(data.Values, v => v.StartsWith("/var/lib/", StringComparison.Ordinal));
        return data;
    }

    /// <summary>PREFIX-ca.crt, PREFIX.crt, PREFIX.key: a CA and a client certificate it signed.</summary>
    private static void WriteCertificates(string directory, string prefix)
    {
        Directory.CreateDirectory(directory);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=fastpath-test-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        // One clock reading for both: the CA's notAfter is stored to the second, and a client
        // notAfter read a moment later can fall in the next second, past its issuer's (refused).
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));
        using var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var clientRequest = new CertificateRequest("CN=fastpath", clientKey, HashAlgorithmName.SHA256);
        using var client = clientRequest.Create(ca, now.AddMinutes(-5), now.AddDays(1), new byte[] { 1, 2, 3, 4 });
        File.WriteAllText(Path.Combine(directory, $"{prefix}-ca.crt"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, $"{prefix}.crt"), client.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, $"{prefix}.key"), clientKey.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>Lays the data out as a ConfigMap volume does: a file per key plus the ..data internals (skipped by the agent).</summary>
    private string WriteConfigDir(Dictionary<string, string> data)
    {
        string dir = Path.Combine(_root, $"config-{Guid.NewGuid():N}"[..15]);
        string timestamped = Path.Combine(dir, "..2026_01_01_00_00_00.000000000");
        Directory.CreateDirectory(timestamped);
        File.CreateSymbolicLink(Path.Combine(dir, "..data"), timestamped);
        foreach (var (key, value) in data)
            File.WriteAllText(Path.Combine(dir, key), value + "\n");
        return dir;
    }

    /// <summary>Exit 2 with the expected text in stderr; a failure shows all the agent printed.</summary>
    private static void AssertStopped((int Code, string Stdout, string Stderr) result, string expected)
    {
        Assert.True(result.Code == 2 && result.Stderr.Contains(expected, StringComparison.Ordinal),
            $"expected exit 2 and stderr containing \"{expected}\"; got exit {result.Code}\nstderr: {result.Stderr}\nstdout: {result.Stdout}");
    }

    private static (int Code, string Stdout, string Stderr) Validate(string configDir, params string[] extra)
    {
        Assert.True(File.Exists(RepoPaths.Agent), $"{RepoPaths.Agent} is missing: run ./build.sh build first");
        var info = new ProcessStartInfo(RepoPaths.Agent) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { "agent", "--validate-config", "--config-dir", configDir }.Concat(extra))
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("fastpath agent --validate-config did not exit within 60 s");
        }
        return (process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }
}

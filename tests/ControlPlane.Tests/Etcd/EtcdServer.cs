using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FastPath.ControlPlane.Etcd;

namespace FastPath.ControlPlane.Tests.Etcd;

/// <summary>
/// A real etcd 3.4 (Debian's /usr/bin/etcd) on free loopback ports with client-certificate auth,
/// in a unique temp directory. Can be stopped and restarted on the same ports and data dir
/// (the kill/restart tests). Dispose kills the process and deletes the directory, even after failures.
/// </summary>
internal sealed class EtcdServer : IDisposable
{
    private const string EtcdBinary = "/usr/bin/etcd";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly string _dataDir;
    private int _peerPort;
    private Process? _process;
    private readonly System.Text.StringBuilder _log = new();

    private readonly bool _tls;
    private readonly string? _netns;

    /// <param name="tls">false: plaintext http:// client URL (h2c), no client-cert auth.</param>
    /// <param name="netns">Run etcd inside this network namespace (<c>ip netns exec</c>): its 127.0.0.1 is
    /// that namespace's loopback, so this process cannot dial it; use <see cref="Etcdctl"/> (run inside too).</param>
    public EtcdServer(string name, bool tls = true, string? netns = null)
    {
        _tls = tls;
        _netns = netns;
        Root = Path.Combine(Path.GetTempPath(), $"fp-etcd-{name}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(Root);
        try
        {
            Certificates = new TestCertificates(Path.Combine(Root, "pki"));
            _dataDir = Path.Combine(Root, "data");
            // The ports are free when picked but another test may take one before etcd binds it:
            // then etcd exits with "address already in use" and we pick again (bounded).
            for (int attempt = 1; ; attempt++)
            {
                (ClientPort, _peerPort) = TwoFreePorts();
                try
                {
                    Start();
                    break;
                }
                catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("address already in use"))
                {
                    Kill();
                    if (Directory.Exists(_dataDir))
                        Directory.Delete(_dataDir, recursive: true);
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Root { get; }
    public int ClientPort { get; private set; }
    public TestCertificates Certificates { get; }
    public Uri ClientUrl => new($"{(_tls ? "https" : "http")}://127.0.0.1:{ClientPort}");

    /// <summary>Writes an etcd client YAML for this server (paths relative to the file) and returns its path.</summary>
    public string WriteClientConfig(string path, string? certFile = null, string? keyFile = null)
    {
        string dir = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(dir);
        File.WriteAllText(path, ClientConfigYaml(dir, certFile, keyFile));
        return path;
    }

    public string ClientConfigYaml(string relativeTo, string? certFile = null, string? keyFile = null) => !_tls
        ? $"endpoints:\n- {ClientUrl}\n"
        : $"""
        endpoints:
        - {ClientUrl}
        trusted-ca-file: {Path.GetRelativePath(relativeTo, Certificates.CaFile)}
        cert-file: {Path.GetRelativePath(relativeTo, certFile ?? Certificates.ClientCertFile)}
        key-file: {Path.GetRelativePath(relativeTo, keyFile ?? Certificates.ClientKeyFile)}

        """;

    public EtcdConfig ClientConfig() => EtcdConfig.Parse(ClientConfigYaml(Root), Path.Combine(Root, "client.yaml"));

    public void Start()
    {
        if (_process is not null)
            throw new InvalidOperationException("etcd already running");
        var info = new ProcessStartInfo(_netns is null ? EtcdBinary : "ip")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        string peer = $"http://127.0.0.1:{_peerPort}";
        string client = ClientUrl.ToString().TrimEnd('/');
        var args = new List<string>
        {
            "--name", "default", "--data-dir", _dataDir,
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", $"default={peer}",
            "--logger", "zap", "--log-outputs", "stderr",
        };
        if (_tls)
        {
            args.AddRange(new[]
            {
                "--client-cert-auth", "--trusted-ca-file", Certificates.CaFile,
                "--cert-file", Certificates.ServerCertFile, "--key-file", Certificates.ServerKeyFile,
            });
        }
        if (_netns is not null)
            args.InsertRange(0, ["netns", "exec", _netns, EtcdBinary]);
        foreach (string arg in args)
            info.ArgumentList.Add(arg);
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        WaitReady();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log)
        {
            if (_log.Length < 64 * 1024)
                _log.AppendLine(line);
        }
    }

    private void WaitReady()
    {
        if (_netns is not null)
        {
            WaitReadyInsideNetns();
            return;
        }
        using var client = new EtcdClient(ClientConfig(), new EtcdClientOptions
        {
            DialTimeout = TimeSpan.FromSeconds(1),
            RequestTimeout = TimeSpan.FromSeconds(2),
        });
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < StartTimeout)
        {
            if (_process!.HasExited)
                break;
            try
            {
                client.StatusAsync().GetAwaiter().GetResult();
                return;
            }
            catch (EtcdException e)
            {
                last = e;
                Thread.Sleep(100);
            }
        }
        string log;
        lock (_log) log = _log.ToString();
        throw new InvalidOperationException(
            $"etcd on port {ClientPort} not ready within {StartTimeout.TotalSeconds} s (exited: {_process!.HasExited}); last error: {last?.Message}\n{log}");
    }

    private void WaitReadyInsideNetns()
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (clock.Elapsed < StartTimeout && !_process!.HasExited)
        {
            (int code, string output) = RunEtcdctl(TimeSpan.FromSeconds(5), "endpoint", "health");
            if (code == 0)
                return;
            last = output;
            Thread.Sleep(100);
        }
        string log;
        lock (_log) log = _log.ToString();
        throw new InvalidOperationException(
            $"etcd in netns {_netns} on port {ClientPort} not ready within {StartTimeout.TotalSeconds} s; last etcdctl: {last}\n{log}");
    }

    /// <summary>Runs etcdctl (v3 API) against this server, inside its netns when it has one; throws on failure.</summary>
    public string Etcdctl(params string[] args)
    {
        (int code, string output) = RunEtcdctl(TimeSpan.FromSeconds(10), args);
        if (code != 0)
            throw new InvalidOperationException($"etcdctl {string.Join(' ', args)} failed ({code}): {output}");
        return output;
    }

    private (int Code, string Output) RunEtcdctl(TimeSpan timeout, params string[] args)
    {
        var all = new List<string> { "--endpoints", ClientUrl.ToString().TrimEnd('/'), "--dial-timeout", "2s" };
        if (_tls)
            all.AddRange(["--cacert", Certificates.CaFile, "--cert", Certificates.ClientCertFile, "--key", Certificates.ClientKeyFile]);
        all.AddRange(args);
        if (_netns is not null)
            all.InsertRange(0, ["netns", "exec", _netns, "etcdctl"]);
        var info = new ProcessStartInfo(_netns is null ? "etcdctl" : "ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["ETCDCTL_API"] = "3";
        foreach (string arg in all)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(2000);
            return (-1, $"timed out after {timeout.TotalSeconds} s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Kills the server (SIGKILL), keeping ports and data for <see cref="Start"/>.</summary>
    public void Kill()
    {
        Process? process = _process;
        _process = null;
        if (process is null)
            return;
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        process.Dispose();
    }

    public void Dispose()
    {
        Kill();
        try
        {
            if (Directory.Exists(Root))
                Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp dir must not fail the test run.
        }
    }

    /// <summary>Two distinct free ports: both listeners are open at once (one after the other, the
    /// kernel may hand out the same port twice, and etcd then fails to bind its peer URL).</summary>
    private static (int Client, int Peer) TwoFreePorts()
    {
        using var client = new TcpListener(IPAddress.Loopback, 0);
        using var peer = new TcpListener(IPAddress.Loopback, 0);
        client.Start();
        peer.Start();
        return (((IPEndPoint)client.LocalEndpoint).Port, ((IPEndPoint)peer.LocalEndpoint).Port);
    }
}

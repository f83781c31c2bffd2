using Datapath.Tests.Infrastructure;
using FastPath.ControlPlane.Tests.Etcd;

namespace FastPath.Demo;

/// <summary>
/// Everything the demo creates (see <see cref="Topology"/>): namespaces and veths, two etcd servers
/// with generated certificates, the pod servers, tokyo's manifests and clustermesh directories, the
/// agent and its pinned maps. Names carry one run id. Dispose removes all of it, in reverse order,
/// each part on its own so one failure does not leave the rest behind.
/// </summary>
internal sealed class DemoMesh : IDisposable
{
    private static readonly TimeSpan ClusterReadyTimeout = TimeSpan.FromSeconds(30);
    private readonly List<PodServers> _servers = new();
    private readonly string[] _baseAgentArgs;
    private AgentProcess? _agent;

    public string RunId { get; }
    public string Root { get; }
    public string PinDir { get; }
    public ServiceTopology Net { get; }
    public EtcdServer? TokyoEtcd { get; }
    public EtcdServer? HkEtcd { get; }
    public TokyoManifests Manifests { get; }
    public AgentProcess Agent => _agent ?? throw new InvalidOperationException("the agent is not running");

    /// <summary>Every namespace of this run (for the operator and the clean-up test).</summary>
    public IEnumerable<string> NetnsNames => new[] { Net.Node, Net.Client }.Concat(Net.Backends).Select(n => n.Name);

    /// <param name="fact">Told, before anything else is created, the run id and every name to clean up.</param>
    public DemoMesh(Action<string> progress, Action<string> fact)
    {
        Net = ServiceTopology.Create(Topology.PodNames.Length);
        RunId = Net.Id;
        Root = Path.Combine(Path.GetTempPath(), $"fp-demo-{RunId}");
        PinDir = $"/sys/fs/bpf/fastpath-demo-{RunId}";
        Manifests = new TokyoManifests(Path.Combine(Root, "manifests"));
        try
        {
            // Printed once the namespaces exist and before anything else is created: whoever stops the run knows what to look for.
            fact($"run {RunId}: netns {string.Join(' ', NetnsNames)}; temp dir {Root}; pin dir {PinDir}");
            Directory.CreateDirectory(Manifests.Directory);
            string meshDir = Path.Combine(Root, "clustermesh");
            Directory.CreateDirectory(meshDir);
            for (int i = 0; i < Topology.PodNames.Length; i++)
                _servers.Add(PodServers.Start(Net.Backends[i], Topology.PodNames[i]));

            progress("starting etcd for tokyo (the agent's kvstore) and for hk (a remote cluster), mTLS with generated certificates");
            TokyoEtcd = new EtcdServer($"demo-{Topology.Tokyo}-{RunId}", netns: Net.Node.Name);
            CiliumState.PublishTokyo(TokyoEtcd, ServiceTopology.ClientAddress, Topology.TokyoPods);
            string kvstore = TokyoEtcd.WriteClientConfig(Path.Combine(Root, "kvstore.yaml"));
            HkEtcd = new EtcdServer($"demo-{Topology.Hk}-{RunId}", netns: Net.Node.Name);
            CiliumState.PublishHk(HkEtcd, Topology.HkPods);
            HkEtcd.WriteClientConfig(Path.Combine(meshDir, Topology.Hk));

            Manifests.WriteService(affinity: null);
            _baseAgentArgs =
            [
                "--cluster-name", Topology.Tokyo, "--cluster-id", Topology.TokyoId.ToString(),
                "--k8s-manifests", Manifests.Directory, "--kvstore-config", kvstore, "--clustermesh-config", meshDir,
                "--devices", Net.AgentDevices, "--xdp-mode", "native", "--bpf-pin-dir", PinDir,
            ];
            StartAgent(progress);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void StartAgent(Action<string> progress, params string[] extraArgs)
    {
        string[] args = [.. _baseAgentArgs, .. extraArgs];
        progress($"starting the agent in the tokyo node: fastpath agent {string.Join(' ', args)}");
        _agent = AgentProcess.Start(Net.Node, args);
        _agent.WaitForLog("ClusterMesh: 1/1 remote clusters ready", ClusterReadyTimeout);
    }

    /// <summary>SIGTERM: the agent detaches XDP and unpins its maps before it exits.</summary>
    public void StopAgent()
    {
        _agent?.Dispose();
        _agent = null;
    }

    /// <summary>Runs the CLI (bin/fastpath ARGS) in the node netns, where the stats endpoint's 127.0.0.1 is.</summary>
    public string Cli(params string[] args)
    {
        var (code, stdout, stderr) = Shell.TryRun(TimeSpan.FromSeconds(15), "ip", ["netns", "exec", Net.Node.Name, RepoPaths.Agent, .. args]);
        return code == 0 ? stdout : $"(fastpath {string.Join(' ', args)} exited with {code}: {stderr.Trim()})\n{stdout}";
    }

    public void Dispose()
    {
        Try(StopAgent);
        Try(() => HkEtcd?.Dispose());
        Try(() => TokyoEtcd?.Dispose());
        foreach (var server in _servers)
            Try(server.Dispose);
        Try(Net.Dispose);
        Try(() => { if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true); });
        // The agent unpins on SIGTERM; one killed by a signal it could not handle leaves the directory.
        Try(() => { if (Directory.Exists(PinDir)) Shell.TryRun(TimeSpan.FromSeconds(10), "rm", "-rf", PinDir); });
    }

    private static void Try(Action cleanup)
    {
        try
        {
            cleanup();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"demo clean-up: {e.Message}");
        }
    }
}

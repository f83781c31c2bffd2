namespace Datapath.Tests.Infrastructure;

/// <summary>
/// The standalone set-up most datapath tests share: a <see cref="ServiceTopology"/>, a
/// <see cref="PodServers"/> in every backend pod (named "backend-i"), a services file, and the real
/// agent on the node started with `--services` (native XDP, a per-run pin directory).
/// Dispose stops the agent and the servers and removes the namespaces and the file, also after a
/// failed start.
/// </summary>
public sealed class StandaloneAgent : IDisposable
{
    private readonly List<PodServers> _servers = new();

    public ServiceTopology Topology { get; }
    public AgentProcess Agent { get; }
    public string ServicesFile { get; }

    /// <param name="servicesYaml">The services file's content, given the topology (its VIP and pod addresses).</param>
    /// <param name="ready">Log line to wait for after "fastpath: ready" (e.g. the first publish).</param>
    /// <param name="beforeAgent">Runs once the pods serve, before the agent starts.</param>
    public StandaloneAgent(int backendPods, Func<ServiceTopology, string> servicesYaml, string ready, string filePrefix = "fastpath-services",
        Action<ServiceTopology>? beforeAgent = null)
    {
        Topology = ServiceTopology.Create(backendPods);
        ServicesFile = Path.Combine(Path.GetTempPath(), $"{filePrefix}-{Topology.Id}.yaml");
        try
        {
            for (int i = 0; i < backendPods; i++)
                _servers.Add(PodServers.Start(Topology.Backends[i], $"backend-{i}"));
            File.WriteAllText(ServicesFile, servicesYaml(Topology));
            beforeAgent?.Invoke(Topology);
            Agent = AgentProcess.Start(Topology.Node,
                "--devices", Topology.AgentDevices, "--services", ServicesFile,
                "--xdp-mode", "native", "--bpf-pin-dir", $"/sys/fs/bpf/fastpath-{Topology.Id}");
            Agent.WaitForLog(ready, TimeSpan.FromSeconds(10));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Rewrites the services file and waits until the agent published <paramref name="expectedRevision"/>.</summary>
    public void ChangeServices(string yaml, int expectedRevision)
    {
        File.WriteAllText(ServicesFile, yaml);
        Agent.WaitForLog($"published snapshot revision {expectedRevision}", TimeSpan.FromSeconds(10));
    }

    public void Dispose()
    {
        Agent?.Dispose();
        foreach (var server in _servers)
            server.Dispose();
        Topology.Dispose();
        File.Delete(ServicesFile);
    }
}

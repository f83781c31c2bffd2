using System.Runtime.InteropServices;
using FastPath.ControlPlane.Compile;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Model;
using FastPath.ControlPlane.Runtime;
using FastPath.Snapshot;
using FastPath.Runtime;

namespace FastPath.Agent;

/// <summary>
/// Composes the agent: devices → datapath (XDP, AF_XDP, workers) → sources → compiler → publish,
/// then waits for SIGINT/SIGTERM and tears down in reverse (XDP detached, sockets closed, maps
/// unpinned). Prints "fastpath: ready" on stdout once XDP is attached and the first snapshot is live.
/// </summary>
internal static class AgentHost
{
    public static int Run(AgentOptions options, System.Net.IPEndPoint? statsAddress = null)
    {
        using var stop = new ManualResetEventSlim();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });

        BpfFilesystem.EnsureMounted(options.PinDirectory);
        var devices = DeviceDiscovery.Resolve(options.DevicePatterns);
        AgentLog.Info($"devices: {string.Join(", ", devices.Select(d => $"{d.Name} (ifindex {d.IfIndex}, {d.RxQueues} rx queue(s))"))}");

        using var datapath = Datapath.Start(devices,
            new DatapathOptions(options.BpfObject, options.PinDirectory, options.XdpMode, options.XskBindMode,
                options.CtCapacity, options.Maglev),
            AgentLog.Warn);
        foreach (var (device, mode) in datapath.AttachModes)
            AgentLog.Info($"{device}: XDP attached ({mode.ToString().ToLowerInvariant()})");

        var stats = new Stats.StatsSources(options.ClusterName, options.ClusterId, datapath);

        void PublishSnapshot(ForwardingSnapshot snapshot)
        {
            datapath.Snapshots.Publish(snapshot);
            AgentLog.Info($"published snapshot revision {snapshot.Revision}: {snapshot.FrontendCount} frontend(s)");
        }

        var compiler = new SnapshotCompiler(options.Maglev, _ => (ushort)options.ClusterId, AgentLog.Warn);
        var publishGate = new object();
        void Publish(DesiredState state)
        {
            lock (publishGate)
            {
                stats.RecordDesiredState(state);
                PublishSnapshot(compiler.Compile(state));
            }
        }

        using var services = options.ServicesFile is { } file
            ? new ServicesFileSource(file, options.ClusterName, Publish)
            : null;

        // Mesh mode: the control plane owns its sources and publishes from its own thread.
        MeshControlPlane? mesh = null;
        if (options.Mesh is { } sources)
        {
            try
            {
                mesh = MeshControl.Start(options, sources, PublishSnapshot);
            }
            catch (Exception e) when (e is ManifestException or FastPath.ControlPlane.Policy.PolicyParseException
                or FastPath.ControlPlane.Kubernetes.Api.KubeApiException)
            {
                Console.Error.WriteLine($"fastpath agent: {e.Message}");
                return 2;
            }
        }
        using var meshStop = new MeshControl.Stopper(mesh);
        stats.Mesh = mesh;
        using var statsServer = Stats.StatsServer.StartForAgent(statsAddress, stats);

        Console.Out.WriteLine("fastpath: ready");
        Console.Out.Flush();

        string? lastMeshStatus = null;
        while (!stop.Wait(TimeSpan.FromSeconds(1)))
        {
            // Operator view of the mesh, logged when it changes ("ClusterMesh: 1/2 remote clusters ready, ...").
            if (mesh?.Status.ToString() is { } meshStatus && meshStatus != lastMeshStatus)
            {
                AgentLog.Info(meshStatus);
                lastMeshStatus = meshStatus;
            }
            foreach (var worker in datapath.Workers)
            {
                if (worker.Failure is { } failure)
                {
                    AgentLog.Error($"worker for queue {worker.Queue} stopped: {failure.Message}");
                    return 1;
                }
            }
        }
        AgentLog.Info("stopping: detaching XDP, closing sockets, unpinning maps");
        return 0;
    }
}

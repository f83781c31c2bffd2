using System.Runtime.InteropServices;
using FastPath.ControlPlane.Compile;
using FastPath.ControlPlane.Model;
using FastPath.Runtime;

namespace FastPath.Agent;

/// <summary>
/// Composes the agent: devices → datapath (XDP, AF_XDP, workers) → sources → compiler → publish,
/// then waits for SIGINT/SIGTERM and tears down in reverse (XDP detached, sockets closed, maps
/// unpinned). Prints "fastpath: ready" on stdout once XDP is attached and the first snapshot is live.
/// </summary>
internal static class AgentHost
{
    public static int Run(AgentOptions options)
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

        var compiler = new SnapshotCompiler(options.Maglev, _ => (ushort)options.ClusterId, AgentLog.Warn);
        var publishGate = new object();
        void Publish(DesiredState state)
        {
            lock (publishGate)
            {
                var snapshot = compiler.Compile(state);
                datapath.Snapshots.Publish(snapshot);
                AgentLog.Info($"published snapshot revision {snapshot.Revision}: {snapshot.FrontendCount} frontend(s)");
            }
        }

        using var services = options.ServicesFile is { } file
            ? new ServicesFileSource(file, options.ClusterName, Publish)
            : null;

        Console.Out.WriteLine("fastpath: ready");
        Console.Out.Flush();

        while (!stop.Wait(TimeSpan.FromSeconds(1)))
        {
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

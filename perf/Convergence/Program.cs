using System.Diagnostics;
using FastPath.Addressing;
using FastPath.ControlPlane.Etcd;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Kvstore;
using FastPath.ControlPlane.Runtime;
using FastPath.Maglev;
using FastPath.Snapshot;

namespace FastPath.Convergence;

/// <summary>
/// Control-plane convergence against real etcd (issue 3), printed as a Markdown table:
/// <list type="number">
/// <item>initial sync: 3 remote clusters × 1,000 services × 10 backends → time from start until the
///   published snapshot holds every frontend with all 30 backends, and the managed memory it took;</item>
/// <item>write → publish latency: one service's backend changed in a remote etcd, timed until a
///   published snapshot's Maglev table points at the new backend (sequential writes, p50/p99),
///   on a small mesh (1,000 updates) and on the full one (fewer updates: every publish recompiles
///   every frontend's table).</item>
/// </list>
/// Usage: dotnet run -c Release --project perf/Convergence [-- --updates 1000 --full-updates 50]
/// </summary>
public static class Program
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);

    public static async Task<int> Main(string[] args)
    {
        int updates = Arg(args, "--updates", 1000);
        int fullUpdates = Arg(args, "--full-updates", 50);
        int services = Arg(args, "--services", 1000);
        var maglev = MaglevParameters.Default;

        Console.WriteLine($"machine: {Environment.ProcessorCount} cpu(s), {Environment.OSVersion}, .NET {Environment.Version}, " +
            $"Maglev M={maglev.TableSize}");

        using (var full = new MeshWorkload(clusters: 3, services, backends: 10))
        {
            var populate = Stopwatch.StartNew();
            await full.PopulateAsync();
            await using var fullHeartbeats = full.StartHeartbeats();
            Console.WriteLine($"populated {3 * services} service keys in {populate.Elapsed.TotalSeconds:F1} s");

            long before = Memory();
            var tracker = new PublishTracker();
            var clock = Stopwatch.StartNew();
            await using var plane = CreatePlane(full, maglev, tracker);
            await plane.StartAsync(CancellationToken.None);
            int expectedBackends = 3 * services * 10;
            ForwardingSnapshot synced = await tracker.WaitAsync(s => s.FrontendCount == services && LiveBackends(s) == expectedBackends, StepTimeout);
            TimeSpan sync = clock.Elapsed;
            long after = Memory();
            Console.WriteLine($"| initial sync, 3 clusters × {services} services × 10 backends | {sync.TotalMilliseconds:F0} ms | " +
                $"{synced.FrontendCount} frontends, {LiveBackends(synced)} backends, {plane.Status.Publishes} publish(es) |");
            Console.WriteLine($"| managed memory after sync (GC.GetTotalMemory(true), minus before start) | {(after - before) / 1048576.0:F1} MiB | " +
                $"working set {Environment.WorkingSet / 1048576.0:F0} MiB |");

            var compiles = Record(plane);
            var fullLatency = await MeasureAsync(full, tracker, fullUpdates, markerBase: 0);
            Console.WriteLine(Row($"write → publish, full mesh, {fullUpdates} updates", fullLatency));
            Console.WriteLine(Row("  of which merge + compile + publish (control plane thread)", Take(compiles)));
        }

        using (var small = new MeshWorkload(clusters: 3, services: 10, backends: 10))
        {
            await small.PopulateAsync();
            await using var smallHeartbeats = small.StartHeartbeats();
            var tracker = new PublishTracker();
            await using var plane = CreatePlane(small, maglev, tracker);
            await plane.StartAsync(CancellationToken.None);
            await tracker.WaitAsync(s => s.FrontendCount == 10 && LiveBackends(s) == 300, StepTimeout);
            var compiles = Record(plane);
            var latency = await MeasureAsync(small, tracker, updates, markerBase: 10_000);
            Console.WriteLine(Row($"write → publish, 3 clusters × 10 services × 10 backends, {updates} updates", latency));
            Console.WriteLine(Row("  of which merge + compile + publish (control plane thread)", Take(compiles)));
        }
        return 0;
    }

    /// <summary>Collects the control plane's own merge + compile + publish time of every publish from now on.</summary>
    private static List<double> Record(MeshControlPlane plane)
    {
        var times = new List<double>();
        plane.Published += (_, elapsed) => { lock (times) times.Add(elapsed.TotalMilliseconds); };
        return times;
    }

    private static double[] Take(List<double> times)
    {
        lock (times)
            return times.Count == 0 ? [double.NaN] : [.. times];
    }

    private static MeshControlPlane CreatePlane(MeshWorkload workload, MaglevParameters maglev, PublishTracker tracker) =>
        new(new MeshControlPlaneOptions
        {
            ClusterName = "local",
            ClusterId = 1,
            Maglev = maglev,
            Kubernetes = new ManifestDirectorySource(workload.ManifestDir),
            ClusterMeshConfigDirectory = workload.MeshDir,
            Watcher = new KvstoreWatcherOptions
            {
                Client = new EtcdClientOptions { RequestTimeout = TimeSpan.FromSeconds(30) },
                Log = m => Console.Error.WriteLine($"clustermesh: {m}"),
            },
            Log = m => Console.Error.WriteLine(m),
        }, tracker.OnPublished);

    /// <summary>Sequential updates: write a new first backend for one service, wait until a published table points at it.</summary>
    private static async Task<double[]> MeasureAsync(MeshWorkload workload, PublishTracker tracker, int count, int markerBase)
    {
        var clients = Enumerable.Range(1, workload.Clusters).Select(workload.Client).ToArray();
        try
        {
            var samples = new double[count];
            for (int k = 0; k < count; k++)
            {
                int cluster = 1 + k % workload.Clusters;
                int service = k / workload.Clusters % workload.Services;
                var vip = NetAddress.Parse(MeshWorkload.ClusterIp(service));
                var marker = NetAddress.Parse(MeshWorkload.MarkerIp(markerBase + k));
                Task<long> seen = tracker.ExpectAsync(s => TablePointsAt(s, vip, marker));
                long start = Stopwatch.GetTimestamp();
                await clients[cluster - 1].PutAsync(MeshWorkload.ServiceKey(cluster, service),
                    workload.ServiceJson(cluster, service, MeshWorkload.MarkerIp(markerBase + k)));
                long published = await seen.WaitAsync(StepTimeout);
                samples[k] = Stopwatch.GetElapsedTime(start, published).TotalMilliseconds;
            }
            return samples;
        }
        finally
        {
            foreach (var client in clients)
                client.Dispose();
        }
    }

    private static bool TablePointsAt(ForwardingSnapshot snapshot, NetAddress vip, NetAddress backend)
    {
        FrontendEntry? frontend = snapshot.FindFrontend(vip, System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((ushort)MeshWorkload.Port), (byte)L4Protocol.Tcp);
        if (frontend is null)
            return false;
        foreach (uint id in frontend.Table)
            if (snapshot.Backend(id).Address == backend)
                return true;
        return false;
    }

    private static int LiveBackends(ForwardingSnapshot snapshot)
    {
        int live = 0;
        for (uint id = 1; id < (uint)snapshot.BackendIdLimit; id++)
            if (snapshot.Backend(id).Status == BackendStatus.Active)
                live++;
        return live;
    }

    private static string Row(string what, double[] samples)
    {
        Array.Sort(samples);
        return $"| {what} | p50 {Percentile(samples, 0.50):F1} ms, p99 {Percentile(samples, 0.99):F1} ms | max {samples[^1]:F1} ms |";
    }

    private static double Percentile(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    private static long Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) ? v : fallback;
    }
}

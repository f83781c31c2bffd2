using System.Buffers.Binary;
using FastPath.Addressing;
using FastPath.ControlPlane.Model;
using FastPath.Pipeline;
using FastPath.Snapshot;

namespace FastPath.Agent.Stats;

/// <summary>Traffic of one frontend (VIP:port/proto), both directions, since the agent started.</summary>
internal sealed record FrontendTrafficDoc(uint Id, string Frontend, string Namespace, string Service, string Cluster, long Packets, long Bytes);

/// <summary>Traffic of one backend (ip:port), both directions. <c>namespace</c>/<c>service</c>: the first
/// service (in desired-state order) that lists the backend; a backend shared by services has one series.</summary>
internal sealed record BackendTrafficDoc(uint Id, string Backend, string Protocol, string Namespace, string Service, string Cluster,
    long Packets, long Bytes);

/// <summary>GET /v1/traffic: per-frontend/per-backend counters and drops by reason, at <c>time_ms</c>
/// (Unix ms; the dashboard turns successive reads into rates).</summary>
internal sealed record TrafficDoc(long TimeMs, string LocalCluster, IReadOnlyList<FrontendTrafficDoc> Frontends,
    IReadOnlyList<BackendTrafficDoc> Backends, IReadOnlyDictionary<string, long> Drops);

/// <summary>
/// Sums the workers' per-id traffic counters (read racily: single-writer longs, atomic on 64-bit)
/// and names each id from the snapshot in force and the desired state behind it.
///
/// Removed frontends/backends: their series disappear with them (only ids in the current snapshot
/// are reported). Ids are reused lowest-first, and the workers' counters are per id, so a reused id
/// would inherit its previous owner's totals: <see cref="TrafficReport"/> remembers which
/// ip:port/proto each id stood for and, when that changes, takes the id's current total as the new
/// owner's zero. Packets counted between the reuse and the next read are attributed approximately.
/// </summary>
internal sealed class TrafficReport
{
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, Baseline> _frontendBaselines = new();
    private readonly Dictionary<uint, Baseline> _backendBaselines = new();

    private readonly record struct Baseline(string Owner, long Packets, long Bytes);

    public TrafficDoc Read(StatsSources sources)
    {
        ForwardingSnapshot snapshot = sources.Datapath.Snapshots.Current;
        var frontendSums = new TrafficCount[snapshot.FrontendIdLimit];
        var backendSums = new TrafficCount[snapshot.BackendIdLimit];
        var drops = new long[DropReasonNames.Count];
        foreach (var worker in sources.Datapath.Workers)
        {
            PipelineCounters c = worker.PipelineCounters;
            Add(frontendSums, c.Frontends);
            Add(backendSums, c.Backends);
            for (int r = 0; r < drops.Length; r++)
                drops[r] += c.Drops[r];
        }

        var serviceOfBackend = ServiceOfBackend(sources.CurrentDesiredState());
        var frontends = new List<FrontendTrafficDoc>(snapshot.FrontendCount);
        var backends = new List<BackendTrafficDoc>();
        lock (_lock)
        {
            foreach (FrontendEntry f in snapshot.Frontends.OrderBy(f => f.Id))
            {
                var protocol = (L4Protocol)f.Protocol;
                string name = ApiBuilder.HostPort(f.Vip, BinaryPrimitives.ReverseEndianness(f.PortRaw)) + "/" + protocol.ToName();
                var (packets, bytes) = SinceOwner(_frontendBaselines, f.Id, name, frontendSums[f.Id]);
                frontends.Add(new FrontendTrafficDoc(f.Id, name, f.Namespace, f.Name, sources.ClusterName, packets, bytes));
            }
            for (uint id = 1; id < backendSums.Length; id++)
            {
                ref readonly BackendEntry b = ref snapshot.Backend(id);
                if (b.Status == BackendStatus.None)
                    continue;
                var protocol = (L4Protocol)b.Protocol;
                string name = ApiBuilder.HostPort(b.Address, b.Port);
                var (packets, bytes) = SinceOwner(_backendBaselines, id, name + "/" + protocol.ToName(), backendSums[id]);
                serviceOfBackend.TryGetValue((b.Address, b.Port, protocol), out var service);
                backends.Add(new BackendTrafficDoc(id, name, protocol.ToName(), service?.Namespace ?? "", service?.Name ?? "",
                    sources.ClusterNameOf(b.ClusterId), packets, bytes));
            }
        }
        var dropsByName = new Dictionary<string, long>();
        for (int r = 1; r < drops.Length; r++)
            dropsByName[((DropReason)r).ToName()] = drops[r];
        return new TrafficDoc(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), sources.ClusterName, frontends, backends, dropsByName);
    }

    /// <summary>Adds one worker's counters; ids beyond the snapshot (arrays only grow) are skipped.</summary>
    private static void Add(TrafficCount[] sums, TrafficCount[] worker)
    {
        int n = Math.Min(sums.Length, worker.Length);
        for (int i = 0; i < n; i++)
        {
            sums[i].Packets += Volatile.Read(ref worker[i].Packets);
            sums[i].Bytes += Volatile.Read(ref worker[i].Bytes);
        }
    }

    private static (long Packets, long Bytes) SinceOwner(Dictionary<uint, Baseline> baselines, uint id, string owner, TrafficCount total)
    {
        if (!baselines.TryGetValue(id, out var baseline))
            baselines[id] = baseline = new Baseline(owner, 0, 0);
        else if (baseline.Owner != owner)
            baselines[id] = baseline = new Baseline(owner, total.Packets, total.Bytes); // id reused: start from zero
        return (total.Packets - baseline.Packets, total.Bytes - baseline.Bytes);
    }

    /// <summary>Backend (ip, port, proto) → the service of the first frontend (desired-state order) that lists it.</summary>
    private static Dictionary<(NetAddress, ushort, L4Protocol), ServiceName> ServiceOfBackend(DesiredState state)
    {
        var map = new Dictionary<(NetAddress, ushort, L4Protocol), ServiceName>();
        foreach (DesiredFrontend f in state.Frontends)
        {
            var all = f.AllBackends.IsDefaultOrEmpty ? f.Backends : f.AllBackends;
            foreach (BackendSpec b in all)
                map.TryAdd((b.Address, b.Port, b.Protocol), f.Service);
        }
        return map;
    }
}

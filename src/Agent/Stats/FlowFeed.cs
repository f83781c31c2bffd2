using FastPath.Addressing;
using FastPath.ControlPlane.Kvstore;
using FastPath.Observe;
using FastPath.Pipeline;

namespace FastPath.Agent.Stats;

/// <summary>
/// Reads recent flows and drops from every worker's <see cref="FlowEventRing"/> (lock-free copies,
/// off the hot path) and names their endpoints with the ipcache (pod, namespace, cluster) and the
/// current snapshot (frontend, service). A cursor keeps one position per worker for <c>?follow=1</c>.
/// </summary>
internal sealed class FlowFeed
{
    private readonly StatsSources _sources;
    private readonly long[] _next;
    private readonly FlowEvent[] _buffer;

    /// <param name="fromStart">True: begin with every event still in the rings; false: only new ones.</param>
    public FlowFeed(StatsSources sources, bool fromStart)
    {
        _sources = sources;
        var workers = sources.Datapath.Workers;
        _next = new long[workers.Count];
        int capacity = 0;
        for (int i = 0; i < workers.Count; i++)
        {
            _next[i] = fromStart ? 0 : workers[i].Events.Written;
            capacity = Math.Max(capacity, workers[i].Events.Capacity);
        }
        _buffer = new FlowEvent[Math.Max(capacity, 1)];
    }

    /// <summary>Events since the last call (or the start), oldest first across workers.</summary>
    public List<FlowDoc> ReadNew()
    {
        var workers = _sources.Datapath.Workers;
        var snapshot = _sources.Datapath.Snapshots.Current;
        var ipcache = _sources.IpCacheByAddress();
        long nowTicks = Environment.TickCount64;
        var now = DateTimeOffset.UtcNow;
        var docs = new List<FlowDoc>();
        for (int w = 0; w < workers.Count; w++)
        {
            int copied = workers[w].Events.ReadSince(_next[w], _buffer, out long next, out _);
            _next[w] = next;
            for (int i = 0; i < copied; i++)
            {
                ref readonly FlowEvent e = ref _buffer[i];
                string? frontend = null, service = null;
                if (e.FrontendIndex >= 0 && e.FrontendIndex < snapshot.FrontendCount)
                {
                    var f = snapshot.Frontends[e.FrontendIndex];
                    frontend = $"{ApiBuilder.HostPort(f.Vip, System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(f.PortRaw))}/{((L4Protocol)f.Protocol).ToName()}";
                    service = $"{f.Namespace}/{f.Name}";
                }
                docs.Add(new FlowDoc(
                    now.AddMilliseconds(e.TimeMs - nowTicks), workers[w].Queue, e.Sequence,
                    e.Kind == FlowEventKind.FlowCreated ? "FORWARDED" : "DROPPED",
                    e.Kind == FlowEventKind.Drop ? e.DropReason.ToName() : null,
                    e.PolicyDirection == PolicyDirection.None ? null : e.PolicyDirection.ToString().ToLowerInvariant(),
                    ((L4Protocol)e.Protocol).ToName(),
                    Endpoint(e.Source, e.SourcePort, e.SourceIdentity, ipcache),
                    Endpoint(e.Destination, e.DestinationPort, 0, ipcache),
                    frontend, service,
                    e.Backend.IsNone ? null : Endpoint(e.Backend, e.BackendPort, e.DestinationIdentity, ipcache)));
            }
        }
        docs.Sort((a, b) => a.Time.CompareTo(b.Time));
        return docs;
    }

    private static EndpointDoc Endpoint(in NetAddress address, ushort port, uint identity, Dictionary<NetAddress, IpCacheEntry> ipcache)
    {
        if (ipcache.TryGetValue(address, out var entry))
            return new EndpointDoc(address.ToString(), port, identity != 0 ? identity : entry.Identity,
                string.IsNullOrEmpty(entry.Namespace) ? null : entry.Namespace,
                string.IsNullOrEmpty(entry.PodName) ? null : entry.PodName,
                string.IsNullOrEmpty(entry.Cluster) ? null : entry.Cluster);
        return new EndpointDoc(address.ToString(), port, identity, null, null, null);
    }
}

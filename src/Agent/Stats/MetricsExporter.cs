using System.Globalization;
using FastPath.Native;
using FastPath.Pipeline;

namespace FastPath.Agent.Stats;

/// <summary>
/// GET /metrics: every counter the agent keeps, in Prometheus text format. Worker counters are
/// summed over workers (read unsynchronized: single-writer plain longs, a stale value is fine).
/// Per-frontend/per-backend packets and bytes come from <see cref="TrafficReport"/> (removed
/// frontends/backends: the series is dropped; a reused id starts again from zero).
/// </summary>
internal static class MetricsExporter
{
    public static string Write(StatsSources sources)
    {
        var w = new PrometheusWriter();
        WritePipeline(w, sources);
        WriteTraffic(w, sources);
        WriteWorkers(w, sources);
        WriteSockets(w, sources);
        WriteSteering(w, sources);
        WriteConntrack(w, sources);
        WriteNeighbours(w, sources);
        WriteSnapshot(w, sources);
        WriteClusterMesh(w, sources);
        WriteKubernetesApi(w, sources);
        return w.ToString();
    }

    private static void WritePipeline(PrometheusWriter w, StatsSources sources)
    {
        long packets = 0, forwarded = 0, newFlows = 0, replies = 0, deniedIngress = 0, deniedEgress = 0, rechecks = 0;
        var drops = new long[DropReasonNames.Count];
        foreach (var worker in sources.Datapath.Workers)
        {
            var c = worker.PipelineCounters;
            packets += c.Packets;
            forwarded += c.Forwarded;
            newFlows += c.NewFlows;
            replies += c.Replies;
            deniedIngress += c.PolicyDeniedIngress;
            deniedEgress += c.PolicyDeniedEgress;
            rechecks += c.PolicyRechecks;
            for (int r = 0; r < drops.Length; r++)
                drops[r] += c.Drops[r];
        }
        w.Counter("fastpath_pipeline_packets_total", "Frames the fast path processed (any outcome).", packets);
        w.Counter("fastpath_forwarded_packets_total", "Frames transmitted by the fast path (both directions).", forwarded);
        w.Counter("fastpath_reply_packets_total", "Backend-to-client frames reverse-NATed.", replies);
        w.Counter("fastpath_new_flows_total", "Flows created (conntrack forward + reply entries inserted).", newFlows);
        for (int r = 1; r < drops.Length; r++)
            w.Counter("fastpath_drops_total", "Packets dropped by the fast path, by drop reason.", drops[r],
                ("reason", ((DropReason)r).ToName()));
        w.Counter("fastpath_policy_denied_total", "policy_denied drops by the check that denied them.", deniedIngress, ("direction", "ingress"));
        w.Counter("fastpath_policy_denied_total", "policy_denied drops by the check that denied them.", deniedEgress, ("direction", "egress"));
        w.Counter("fastpath_policy_rechecks_total", "Existing flows re-decided after a policy revision change.", rechecks);
        w.Counter("fastpath_ct_full_total", "New flows refused because the conntrack table was full.", drops[(int)DropReason.CtFull]);
    }

    private static void WriteTraffic(PrometheusWriter w, StatsSources sources)
    {
        TrafficDoc traffic = sources.Traffic.Read(sources);
        foreach (var f in traffic.Frontends)
        {
            var labels = new[] { ("namespace", f.Namespace), ("service", f.Service), ("cluster", f.Cluster), ("frontend", f.Frontend) };
            w.Counter("fastpath_frontend_packets_total", "Frames forwarded for a frontend, both directions (replies count toward the request's frontend).", f.Packets, labels);
            w.Counter("fastpath_frontend_bytes_total", "Bytes (whole frames) forwarded for a frontend, both directions.", f.Bytes, labels);
        }
        foreach (var b in traffic.Backends)
        {
            var labels = new[] { ("namespace", b.Namespace), ("service", b.Service), ("cluster", b.Cluster), ("backend", b.Backend) };
            w.Counter("fastpath_backend_packets_total", "Frames forwarded to or from a backend, both directions.", b.Packets, labels);
            w.Counter("fastpath_backend_bytes_total", "Bytes (whole frames) forwarded to or from a backend, both directions.", b.Bytes, labels);
        }
    }

    private static void WriteWorkers(PrometheusWriter w, StatsSources sources)
    {
        foreach (var worker in sources.Datapath.Workers)
        {
            var q = ("queue", worker.Queue.ToString(CultureInfo.InvariantCulture));
            var c = worker.Counters;
            w.Counter("fastpath_worker_rx_packets_total", "Descriptors taken from AF_XDP RX rings, per queue worker.", c.RxPackets, q);
            w.Counter("fastpath_worker_tx_packets_total", "Descriptors placed on AF_XDP TX rings, per queue worker.", c.TxPackets, q);
            w.Counter("fastpath_worker_tx_ring_full_total", "Forwarded packets dropped because the TX ring had no room.", c.TxRingFull, q);
            w.Counter("fastpath_worker_flow_map_update_failures_total", "Batches whose reply tuples could not all be written to fp_flows.", c.FlowMapUpdateFailures, q);
            w.Counter("fastpath_worker_neighbour_held_total", "Frames held while their next hop's neighbour was resolved (instead of dropped).", c.NeighbourHeld, q);
            w.Counter("fastpath_worker_neighbour_released_total", "Held frames sent once their neighbour resolved (the rest were dropped as no_neighbour).", c.NeighbourReleased, q);
            w.Counter("fastpath_worker_tx_kicks_total", "TX kicks (sendto) issued.", c.TxKicks, q);
            w.Counter("fastpath_worker_fill_wakeups_total", "Fill-ring wake-ups (recvfrom) issued.", c.FillWakeups, q);
            w.Counter("fastpath_worker_idle_polls_total", "Idle polls of the queue worker.", c.Polls, q);
            w.Gauge("fastpath_worker_up", "1 while the queue worker runs, 0 once it stopped on a failure.", worker.Failure is null ? 1 : 0, q);
        }
    }

    private static void WriteSockets(PrometheusWriter w, StatsSources sources)
    {
        var names = new Dictionary<int, string>();
        foreach (var device in sources.Datapath.Devices)
            names[device.IfIndex] = device.Name;
        foreach (var socket in sources.Datapath.Sockets)
        {
            var s = socket.ReadStatistics();
            var labels = new[]
            {
                ("device", names.TryGetValue(socket.Ifindex, out var n) ? n : socket.Ifindex.ToString(CultureInfo.InvariantCulture)),
                ("queue", socket.Queue.ToString(CultureInfo.InvariantCulture)),
            };
            w.Counter("fastpath_xsk_rx_dropped_total", "XDP_STATISTICS rx_dropped: dropped by the kernel for other reasons.", s.RxDropped, labels);
            w.Counter("fastpath_xsk_rx_invalid_descs_total", "XDP_STATISTICS rx_invalid_descs.", s.RxInvalidDescs, labels);
            w.Counter("fastpath_xsk_tx_invalid_descs_total", "XDP_STATISTICS tx_invalid_descs.", s.TxInvalidDescs, labels);
            w.Counter("fastpath_xsk_rx_ring_full_total", "XDP_STATISTICS rx_ring_full: dropped because the RX ring was full.", s.RxRingFull, labels);
            w.Counter("fastpath_xsk_rx_fill_ring_empty_descs_total", "XDP_STATISTICS rx_fill_ring_empty_descs.", s.RxFillRingEmptyDescs, labels);
            w.Counter("fastpath_xsk_tx_ring_empty_descs_total", "XDP_STATISTICS tx_ring_empty_descs.", s.TxRingEmptyDescs, labels);
        }
    }

    private static void WriteSteering(PrometheusWriter w, StatsSources sources)
    {
        SteerCounters counters = sources.Datapath.Program.ReadCounters();
        for (int i = 0; i < SteerCounters.Count; i++)
            w.Counter("fastpath_steer_packets_total", "Packets the XDP steering program passed to the kernel or redirected, by action.",
                counters[i], ("action", SteerCounters.Names[i]));
    }

    private static void WriteConntrack(PrometheusWriter w, StatsSources sources)
    {
        var ct = sources.Datapath.Conntrack;
        w.Gauge("fastpath_ct_entries", "Valid conntrack entries (two per flow).", ct.CountEntries());
        w.Gauge("fastpath_ct_capacity_entries", "Conntrack table capacity in entries.", ct.Capacity);
        w.Gauge("fastpath_workers", "Worker threads, one per RX queue index.", sources.Datapath.Workers.Count);
        w.Gauge("fastpath_ct_single_inserter", "1 when one worker does every conntrack insert, so slots are claimed without a CAS.",
            ct.SingleInserter ? 1 : 0);
    }

    private static void WriteNeighbours(PrometheusWriter w, StatsSources sources)
    {
        var resolver = sources.Datapath.Resolver;
        w.Gauge("fastpath_neighbour_destinations", "Destinations with a resolved next hop (egress device, MACs) in the table workers use.", resolver.Current.Count);
        w.Counter("fastpath_neighbour_events_total", "Neighbours the kernel reported usable (RTNLGRP_NEIGH); waiting destinations are retried at once.", resolver.NeighbourEvents);
        w.Counter("fastpath_neighbour_lookup_failures_total", "Next-hop lookups that failed other than with resolution in progress (no route, local, netlink error).", resolver.LookupFailures);
        w.Counter("fastpath_neighbour_wants_dropped_total", "Resolution requests from workers dropped because the resolver's queue was full.", resolver.DroppedWants);
    }

    private static void WriteSnapshot(PrometheusWriter w, StatsSources sources)
    {
        var snapshot = sources.Datapath.Snapshots.Current;
        w.Gauge("fastpath_snapshot_revision", "Revision of the forwarding snapshot in force.", snapshot.Revision);
        w.Gauge("fastpath_frontends", "Frontends (VIP:port/proto) in the forwarding snapshot.", snapshot.FrontendCount);
        var (counts, sum) = sources.PublishLatency.Read();
        w.Histogram("fastpath_snapshot_publish_seconds", "Time to publish a forwarding snapshot (XDP map updates included).",
            sources.PublishLatency.Bounds, counts, sum);
    }

    private static void WriteKubernetesApi(PrometheusWriter w, StatsSources sources)
    {
        if (sources.Mesh?.Kubernetes is not FastPath.ControlPlane.Kubernetes.Api.ApiServerSource source)
            return;
        var api = source.Counters;
        w.Counter("fastpath_k8s_api_lists_total", "Complete lists (all pages) of watched resources, start-up included.", api.Lists);
        w.Counter("fastpath_k8s_api_watch_restarts_total", "Watch requests after the first per resource (timeouts, drops, errors).", api.WatchRestarts);
        w.Counter("fastpath_k8s_api_gone_relists_total", "Re-lists forced by 410 Gone (resource version too old).", api.GoneRelists);
        w.Counter("fastpath_k8s_api_malformed_events_total", "Watch lines or objects skipped as unusable (the last good state stays).", api.MalformedEvents);
        w.Counter("fastpath_k8s_api_errors_total", "Failed requests and dropped connections (each retried with backoff).", api.Errors);
    }

    private static void WriteClusterMesh(PrometheusWriter w, StatsSources sources)
    {
        if (sources.Mesh is not { } mesh)
            return;
        var status = mesh.Status;
        w.Gauge("fastpath_clustermesh_global_services", "Local services annotated global.", status.GlobalServices);
        w.Gauge("fastpath_clustermesh_remote_clusters", "Remote clusters configured.", status.TotalRemotes);
        w.Gauge("fastpath_clustermesh_remote_clusters_ready", "Remote clusters ready.", status.ReadyRemotes);
        w.Counter("fastpath_clustermesh_compile_failures_total", "Merges/compiles that threw (the previous snapshot stayed in force).", status.CompileFailures);
        var clusters = status.Local is { } local ? status.Remotes.Insert(0, local) : status.Remotes;
        foreach (var c in clusters)
        {
            var label = ("cluster", c.Name);
            w.Gauge("fastpath_clustermesh_cluster_ready", "1 when the cluster's kvstore is connected and synced.", c.Ready ? 1 : 0, label);
            w.Gauge("fastpath_clustermesh_cluster_connected", "1 while connected to the cluster's etcd.", c.Connected ? 1 : 0, label);
            w.Counter("fastpath_clustermesh_cluster_failures_total", "Connection failures to the cluster's etcd.", c.NumFailures, label);
            w.Gauge("fastpath_clustermesh_cluster_nodes", "Nodes the cluster publishes.", c.NumNodes, label);
            w.Gauge("fastpath_clustermesh_cluster_endpoints", "Endpoints (ipcache entries) the cluster publishes.", c.NumEndpoints, label);
            w.Gauge("fastpath_clustermesh_cluster_identities", "Identities the cluster publishes.", c.NumIdentities, label);
            w.Gauge("fastpath_clustermesh_cluster_services", "Services the cluster exports.", c.NumServices, label);
        }
    }
}

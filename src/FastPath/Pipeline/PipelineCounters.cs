namespace FastPath.Pipeline;

/// <summary>Packets and bytes (whole frames as transmitted, Ethernet header included) of one
/// frontend or backend, as counted by one worker.</summary>
public struct TrafficCount
{
    public long Packets;
    public long Bytes;
}

/// <summary>
/// One worker's counters, written only by that worker with plain stores (no atomics: one
/// writer). A stats reader sums them over workers; a torn or slightly stale read is fine.
/// </summary>
public sealed class PipelineCounters
{
    /// <summary>Drops indexed by <see cref="DropReason"/>.</summary>
    public readonly long[] Drops = new long[DropReasonNames.Count];
    /// <summary>Frames transmitted (both directions).</summary>
    public long Forwarded;
    /// <summary>Flows created (ct forward + reply entries inserted).</summary>
    public long NewFlows;
    /// <summary>Backend → client frames reverse-NATed.</summary>
    public long Replies;
    /// <summary>Frames processed (any outcome).</summary>
    public long Packets;
    /// <summary>policy_denied drops split by the check that denied them (they also count in
    /// <see cref="Drops"/>): the backend's ingress policy, the client's egress policy.</summary>
    public long PolicyDeniedIngress;
    public long PolicyDeniedEgress;
    /// <summary>Existing-flow verdicts re-decided because the snapshot's policy revision changed.</summary>
    public long PolicyRechecks;

    /// <summary>
    /// Forwarded traffic by stable frontend id (<c>FrontendEntry.Id</c>) and by backend id, both
    /// directions: a reply counts toward the same frontend and backend as its request (per-service
    /// traffic, as Cilium reports it). Only transmitted frames count; drops count in <see cref="Drops"/>.
    /// Indexed by id ([0] unused). The worker replaces an array by a larger copy between batches
    /// when a snapshot brings higher ids (<see cref="PacketPipeline.BeginBatch"/>), never per packet;
    /// a reader that still holds the old array just sees slightly stale figures.
    /// </summary>
    public TrafficCount[] Frontends = [];
    /// <inheritdoc cref="Frontends"/>
    public TrafficCount[] Backends = [];

    public long Dropped(DropReason reason) => Drops[(int)reason];

    public long TotalDrops
    {
        get
        {
            long sum = 0;
            foreach (long d in Drops)
                sum += d;
            return sum;
        }
    }
}

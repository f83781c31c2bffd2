namespace FastPath.Pipeline;

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

namespace FastPath.Runtime;

/// <summary>Ring-level counters of one worker (the pipeline counts per-packet outcomes). Plain
/// fields written by the worker only; readers tolerate torn/stale values.</summary>
public sealed class WorkerCounters
{
    /// <summary>Descriptors taken from RX rings.</summary>
    public long RxPackets;
    /// <summary>Descriptors placed on TX rings.</summary>
    public long TxPackets;
    /// <summary>Forwarded packets dropped because the egress TX ring had no room.</summary>
    public long TxRingFull;
    /// <summary>Batches whose reply tuples could not all be written to fp_flows.</summary>
    public long FlowMapUpdateFailures;
    /// <summary>TX kicks (sendto) issued.</summary>
    public long TxKicks;
    /// <summary>Fill-ring wake-ups (recvfrom) issued.</summary>
    public long FillWakeups;
    /// <summary>Idle polls.</summary>
    public long Polls;
    /// <summary>Frames held because their next hop's neighbour was not resolved yet (instead of dropped).</summary>
    public long NeighbourHeld;
    /// <summary>Held frames sent once their neighbour resolved (the others were dropped as no_neighbour).</summary>
    public long NeighbourReleased;
}

using FastPath.Addressing;
using FastPath.Pipeline;

namespace FastPath.Observe;

/// <summary>What an event records: a flow the pipeline created, or a packet it dropped.</summary>
public enum FlowEventKind : byte
{
    None = 0,
    /// <summary>A new flow was created and its first packet forwarded.</summary>
    FlowCreated = 1,
    /// <summary>A packet was dropped; <see cref="FlowEvent.DropReason"/> says why.</summary>
    Drop = 2,
}

/// <summary>Which policy check denied a flow (policy_denied drops only).</summary>
public enum PolicyDirection : byte
{
    None = 0,
    /// <summary>The backend's ingress policy does not admit the client.</summary>
    Ingress = 1,
    /// <summary>The client's egress policy does not allow the backend.</summary>
    Egress = 2,
}

/// <summary>
/// One recent flow or drop event of one worker, for the <c>observe</c> command. A plain value:
/// the writer fills it in place inside <see cref="FlowEventRing"/>, readers get copies. Fields a
/// drop could not know yet (no frontend matched, no backend chosen, frame unparsable) are zero.
/// Ports are host order.
/// </summary>
public struct FlowEvent
{
    /// <summary>Position in the worker's event stream (0, 1, 2, …); pass the last seen + 1 to
    /// <see cref="FlowEventRing.ReadSince"/> to continue a stream.</summary>
    public long Sequence;
    /// <summary>Monotonic milliseconds (Environment.TickCount64 in the agent) of the worker's batch.</summary>
    public long TimeMs;
    public NetAddress Source;
    /// <summary>Where the packet was addressed: the VIP for client → VIP packets, the client for replies.</summary>
    public NetAddress Destination;
    /// <summary>The backend the flow is (or would have been) translated to.</summary>
    public NetAddress Backend;
    public ushort SourcePort;
    public ushort DestinationPort;
    public ushort BackendPort;
    public byte Protocol;
    public FlowEventKind Kind;
    public DropReason DropReason;
    public PolicyDirection PolicyDirection;
    /// <summary>Client identity (ipcache of the client address; 0 when not looked up).</summary>
    public uint SourceIdentity;
    /// <summary>Backend identity (ipcache of the backend address; 0 when not looked up).</summary>
    public uint DestinationIdentity;
    /// <summary>Index of the frontend in the snapshot (<c>Snapshot.FrontendEntry.Index</c>), -1 when none matched.</summary>
    public int FrontendIndex;
    /// <summary>Backend id (0 = none chosen).</summary>
    public uint BackendId;

    public readonly Verdict Verdict => Kind == FlowEventKind.FlowCreated ? Verdict.Forward : Verdict.Drop;

    public override readonly string ToString() =>
        $"#{Sequence} {Kind} {Source}:{SourcePort} -> {Destination}:{DestinationPort} via {Backend}:{BackendPort} proto {Protocol} " +
        $"ids {SourceIdentity}->{DestinationIdentity} {(Kind == FlowEventKind.Drop ? DropReason.ToName() : "forward")}" +
        (PolicyDirection != PolicyDirection.None ? $" ({PolicyDirection.ToString().ToLowerInvariant()})" : "");
}

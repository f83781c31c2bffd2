namespace FastPath.Pipeline;

/// <summary>
/// Why the fast path dropped a packet. Names are the glossary's (SPEC §1) and appear
/// verbatim (snake_case) in metrics, JSON and the CLI; never renumber — counters are
/// arrays indexed by these values.
/// </summary>
public enum DropReason : byte
{
    None = 0,
    Malformed = 1,
    NoBackend = 2,
    CtFull = 3,
    UnknownServicePort = 4,
    PolicyDenied = 5,
    NoRoute = 6,
    NoNeighbour = 7,
    NoFlow = 8,
    UnsupportedProtocol = 9,
    Fragment = 10,
    BackendRemoved = 11,
    TxRingFull = 12,
    /// <summary>A new flow's fp_flows key could not be queued (the worker's pending buffer is
    /// full this batch); without it the backend's replies would not reach us, so the flow is
    /// not created and the client's retransmission retries.</summary>
    FlowBacklogFull = 13,
    /// <summary>A new flow's reply tuple (backend → client) is already taken by another flow:
    /// the same client port reached the same backend through a different VIP. Reverse NAT
    /// could not tell the two apart, so the new flow is refused; the client retries from
    /// another port.</summary>
    ReplyTupleInUse = 14,
}

public static class DropReasonNames
{
    public const int Count = 15;

    private static readonly string[] Names =
    [
        "none", "malformed", "no_backend", "ct_full", "unknown_service_port", "policy_denied",
        "no_route", "no_neighbour", "no_flow", "unsupported_protocol", "fragment", "backend_removed",
        "tx_ring_full", "flow_backlog_full", "reply_tuple_in_use",
    ];

    public static string ToName(this DropReason reason) => Names[(int)reason];
}

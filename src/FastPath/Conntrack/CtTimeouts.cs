namespace FastPath.Conntrack;

/// <summary>
/// How long a flow lives without traffic, by TCP state. Values are Cilium's datapath defaults
/// (bpf/node_config.h: CT_SYN_TIMEOUT 60, CT_CONNECTION_LIFETIME_TCP / CT_SERVICE_LIFETIME_TCP
/// 21600, CT_CLOSE_TIMEOUT 10, CT_CONNECTION_LIFETIME_NONTCP 60 — all in seconds), so flows
/// age the same way they would behind Cilium's own load balancer.
/// </summary>
public static class CtTimeouts
{
    /// <summary>TCP flow that has only seen SYNs so far (half-open): 60 s.</summary>
    public const long TcpSynMs = 60 * 1000L;
    /// <summary>TCP flow that has seen a non-SYN segment (established): 21600 s = 6 h.</summary>
    public const long TcpEstablishedMs = 21600 * 1000L;
    /// <summary>TCP flow after an RST or FINs from both sides: 10 s for the last ACKs/retransmits.</summary>
    public const long TcpCloseMs = 10 * 1000L;
    /// <summary>UDP (and any non-TCP) flow, idle: 60 s.</summary>
    public const long NonTcpMs = 60 * 1000L;
    /// <summary>
    /// Expiry is rewritten only when it would move by at least this much (1 s), so a busy
    /// flow does not store to its shared ct cache line on every packet.
    /// </summary>
    public const long RefreshGranularityMs = 1000L;
}

using FastPath.Addressing;
using FastPath.NextHop;

namespace FastPath.Conntrack;

/// <summary>
/// What a flow's two ct entries hold, read by <see cref="CtTable.Details"/> without the seqlock
/// check the hot path makes: for tests, tools and rare paths. (The handle itself,
/// <see cref="CtFlow"/>, holds no reference to its table, so the hot path's handles are plain
/// values the JIT need not zero on entry.)
/// </summary>
/// <param name="FrontendId">Stable id of the flow's frontend (0 when created without one).</param>
/// <param name="NatAddress">Forward: the backend's address (the reply key's source); reply: the VIP (the forward key's destination).</param>
/// <param name="PolicyRevision">Policy revision (low 32 bits) the flow was last allowed at; see <see cref="CtTable.SetPolicyRevision"/>.</param>
public readonly record struct CtFlowDetails(
    uint BackendId,
    uint FrontendId,
    NetAddress NatAddress,
    ushort NatPortRaw,
    int IngressSlot,
    MacAddress ClientMac,
    MacAddress LocalMac,
    int PolicyRevision);

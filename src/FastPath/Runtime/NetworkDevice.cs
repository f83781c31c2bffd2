using FastPath.NextHop;

namespace FastPath.Runtime;

/// <summary>An interface the agent attaches to. <see cref="Slot"/> is its index in the agent's device
/// table: the XDP program, the XSK map and the fast path all address devices by slot.</summary>
public sealed record NetworkDevice(int Slot, string Name, int IfIndex, MacAddress Mac, int RxQueues);

using FastPath.ControlPlane.Policy;
using FastPath.Policy;

namespace FastPath.ControlPlane.Compile;

/// <summary>
/// The policy half of one snapshot compile: the compiled policy (PolicyCompiler), the ipcache
/// of every cluster (IpCacheBuilder over the kvstore's <c>cilium/state/ip/v1</c> entries), and
/// <c>--lb-policy-aware-selection</c>. Pass the same instances again when nothing changed: the
/// compiler bumps the snapshot's policy revision (which makes every existing flow re-check its
/// verdict once) only when the tables or the ipcache instance or the flag differ from last time.
/// </summary>
public sealed record PolicyInputs(PolicyTables Tables, IpCache IpCache, bool PolicyAwareSelection = false)
{
    /// <summary>No policy: everything allowed, every address world.</summary>
    public static PolicyInputs None { get; } = new(PolicyTables.Empty, IpCache.Empty);
}

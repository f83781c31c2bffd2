using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using FastPath.Observe;
using FastPath.Policy;
using FastPath.Snapshot;

namespace FastPath.Pipeline;

/// <summary>The identities a flow's verdict was decided with, and which check denied it (if any).</summary>
public struct PolicyOutcome
{
    public uint ClientIdentity;
    public uint BackendIdentity;
    public PolicyDirection Denied;
}

/// <summary>
/// The SPEC §7 verdict for a client → backend flow, in one place for new flows and re-checks:
/// client identity = ipcache(client), backend identity = ipcache(backend) (exact, longest prefix,
/// else world; the snapshot's <see cref="BackendEntry.Identity"/> holds the backend's, looked up
/// when the snapshot was built); allowed iff the client's EGRESS policy allows (peer = backend identity) AND the
/// backend's INGRESS policy allows (peer = client identity), both on the backend's port after
/// DNAT and the flow's protocol (<see cref="PolicyVerdicts.AllowsFlow"/>). A direction where no rule
/// selects the endpoint allows everything (<see cref="PolicyVerdicts.IsAllowed(uint, Direction, byte, ushort, uint)"/>
/// checks that first). Egress is checked first, so a flow both sides forbid is reported as an egress denial.
/// </summary>
internal static class PolicyCheck
{
    /// <summary>Verdict with the identities already in <paramref name="outcome"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsAllowed(PolicyVerdicts policy, ushort backendPortRaw, byte protocol, ref PolicyOutcome outcome)
    {
        ushort port = BinaryPrimitives.ReverseEndianness(backendPortRaw);
        if (policy.AllowsFlow(outcome.ClientIdentity, outcome.BackendIdentity, protocol, port, out Direction denied))
        {
            outcome.Denied = PolicyDirection.None;
            return true;
        }
        outcome.Denied = denied == Direction.Ingress ? PolicyDirection.Ingress : PolicyDirection.Egress;
        return false;
    }
}

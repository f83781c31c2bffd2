using System.Runtime.InteropServices;
using FastPath.Addressing;
using FastPath.NextHop;

namespace FastPath.Conntrack;

/// <summary>Which direction of a translated flow a ct entry matches.</summary>
public enum CtDirection : byte
{
    /// <summary>client → VIP:port; holds the backend to DNAT to. Owns the flow's lifetime.</summary>
    Forward = 1,
    /// <summary>backend → client; holds the VIP:port to restore and the way back to the client.</summary>
    Reply = 2,
}

/// <summary>Flow state bits, updated with Interlocked.Or by whichever worker sees the packet.</summary>
internal static class CtFlowFlags
{
    public const int SeenNonSyn = 1;
    public const int FinFromClient = 2;
    public const int FinFromBackend = 4;
    public const int Reset = 8;
    public const int ClosingMask = Reset;
    public const int BothFins = FinFromClient | FinFromBackend;
}

/// <summary>
/// One slot of <see cref="CtTable"/>. Its State word (kept in a separate array by the table, see
/// <see cref="CtSlot"/>) is the only word writers race on: bits 0–1 status, bits 2–15 a
/// generation bumped on every claim, so a reader can tell that a slot was reused while it was
/// reading (seqlock style), bits 16–31 a tag from the key's hash that lets lookups skip
/// non-matching slots without reading the entry.
/// Key and value fields are written only while the slot is Claimed (invisible to readers).
/// Flags and ExpiresAtMs are the mutable flow state, used on the Forward entry only.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CtEntry
{
    public int Flags;
    public long ExpiresAtMs;
    public FlowKey Key;
    /// <summary>Forward: backend address; Reply: the VIP to put back as source.</summary>
    public NetAddress NatAddress;
    public ushort NatPortRaw;
    public CtDirection Direction;
    public byte Reserved;
    public uint BackendId;
    /// <summary>Slot index of the other direction's entry.</summary>
    public int PartnerIndex;
    /// <summary>The partner's State word as published; any change means it is gone.</summary>
    public int PartnerState;
    /// <summary>Reply only: device the flow's first packet came in on; replies leave there.</summary>
    public int IngressSlot;
    /// <summary>Reply only: the client-side previous hop's MAC (first packet's source MAC).</summary>
    public MacAddress ClientMac;
    /// <summary>Reply only: our MAC on that device (first packet's destination MAC).</summary>
    public MacAddress LocalMac;
    /// <summary>Low 32 bits of the snapshot's policy revision at which this flow was last found
    /// allowed (SPEC §7: the verdict is cached in ct). Kept on both entries so either direction
    /// compares it without touching the partner; rewritten on both after a re-check.</summary>
    public int PolicyRevision;
    /// <summary>Stable id of the frontend the flow was placed through (<c>FrontendEntry.Id</c>), on
    /// both entries: packets of either direction count toward it without a frontend lookup.
    /// Sits in what was tail padding (the entry stays 112 bytes).</summary>
    public uint FrontendId;
}

internal static class CtSlot
{
    public const int Empty = 0;
    public const int Claimed = 1;
    public const int Valid = 2;
    public const int StatusMask = 3;
    public const int GenerationStep = 4;
    /// <summary>Bits 2–15: 14-bit generation, wrapping.</summary>
    public const int GenerationMask = 0xFFFC;
    /// <summary>Bits 16–31: the key's hash tag.</summary>
    public const int TagShift = 16;
}

/// <summary>
/// A copy of a ct entry's immutable part, taken by <see cref="CtTable.TryLookup"/> and checked
/// against concurrent reuse of the slot. Pass it back to <see cref="CtTable.Touch"/> /
/// <see cref="CtTable.DeleteFlow"/>.
/// </summary>
public readonly struct CtFlow
{
    public readonly int Index;
    internal readonly int State;
    public readonly CtDirection Direction;
    public readonly uint BackendId;
    public readonly NetAddress NatAddress;
    public readonly ushort NatPortRaw;
    public readonly int PartnerIndex;
    internal readonly int PartnerState;
    public readonly int IngressSlot;
    public readonly MacAddress ClientMac;
    public readonly MacAddress LocalMac;
    /// <summary>Policy revision (low 32 bits) the flow was last allowed at; see <see cref="CtTable.SetPolicyRevision"/>.</summary>
    public readonly int PolicyRevision;
    /// <summary>Stable id of the flow's frontend (0 when created without one).</summary>
    public readonly uint FrontendId;

    internal CtFlow(int index, int state, ref CtEntry e)
    {
        Index = index;
        State = state;
        Direction = e.Direction;
        BackendId = e.BackendId;
        NatAddress = e.NatAddress;
        NatPortRaw = e.NatPortRaw;
        PartnerIndex = e.PartnerIndex;
        PartnerState = e.PartnerState;
        IngressSlot = e.IngressSlot;
        ClientMac = e.ClientMac;
        LocalMac = e.LocalMac;
        PolicyRevision = Volatile.Read(ref e.PolicyRevision);
        FrontendId = e.FrontendId;
    }

    public bool IsReply => Direction == CtDirection.Reply;
}

/// <summary>What a new flow's ct entries need to hold.</summary>
public readonly struct CtNewFlow
{
    public readonly uint BackendId;
    public readonly NetAddress BackendAddress;
    public readonly ushort BackendPortRaw;
    public readonly int IngressSlot;
    public readonly MacAddress ClientMac;
    public readonly MacAddress LocalMac;
    /// <summary>Policy revision (low 32 bits) the flow's verdict was decided at.</summary>
    public readonly int PolicyRevision;
    /// <summary>Stable id of the frontend the flow came in through (per-frontend counters).</summary>
    public readonly uint FrontendId;

    public CtNewFlow(uint backendId, in NetAddress backendAddress, ushort backendPortRaw, int ingressSlot,
        in MacAddress clientMac, in MacAddress localMac, int policyRevision = 0, uint frontendId = 0)
    {
        FrontendId = frontendId;
        PolicyRevision = policyRevision;
        BackendId = backendId;
        BackendAddress = backendAddress;
        BackendPortRaw = backendPortRaw;
        IngressSlot = ingressSlot;
        ClientMac = clientMac;
        LocalMac = localMac;
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastPath.Addressing;
using FastPath.NextHop;

namespace FastPath.Conntrack;

/// <summary>Which direction of a translated flow a ct entry matches.</summary>
public enum CtDirection : byte
{
    /// <summary>client → VIP:port; holds the backend to DNAT to. Owns the flow's lifetime.</summary>
    Forward = 1,
    /// <summary>backend → client; holds the way back to the client.</summary>
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
/// One slot of <see cref="CtTable"/>: exactly one 64-byte cache line (the table aligns its
/// storage to 64 bytes), so a lookup that matches reads one line for the entry.
///
/// Bytes 0–39 hold the key in <see cref="FlowKey"/>'s layout, except that FlowKey's three zero
/// padding bytes carry <see cref="Direction"/> and <see cref="BackendCheck"/> (key compares mask
/// them out). The rest is a union by direction — each direction keeps only what its own packets
/// need, everything else is read from the partner entry:
/// - Forward (client → VIP): backend id + check, TCP flags, expiry, cached policy revision, and
///   4 bytes for a frontend id. The backend's address and port come from the snapshot by id
///   (the check — 16 bits of the address and port hash — fails a reused id safe); the VIP is
///   this entry's own key destination.
/// - Reply (backend → client): the way back to the client (ingress slot, client and local MACs)
///   and the forward entry's published State; the VIP, backend id, flags, expiry and policy
///   revision are the forward entry's (reply packets read it anyway, to refresh the flow).
///
/// Its State word (kept in a separate array by the table, see <see cref="CtSlot"/>) is the only
/// word writers race on: bits 0–1 status, bits 2–15 a generation bumped on every claim, so a
/// reader can tell that a slot was reused while it was reading (seqlock style), bits 16–31 a tag
/// from the key's hash that lets lookups skip non-matching slots without reading the entry.
/// Key and value fields are written only while the slot is Claimed (invisible to readers).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Bytes)]
internal struct CtEntry
{
    public const int Bytes = 64;
    /// <summary>Bytes 32–39 that belong to the key: both ports (4) and the protocol (1).</summary>
    public const ulong KeyTailMask = 0x0000_00FF_FFFF_FFFFUL;

    // ── Key (both directions), FlowKey's layout ──
    [FieldOffset(0)] public NetAddress Source;
    [FieldOffset(16)] public NetAddress Destination;
    [FieldOffset(32)] public ushort SourcePortRaw;
    [FieldOffset(34)] public ushort DestinationPortRaw;
    [FieldOffset(36)] public byte Protocol;
    [FieldOffset(37)] public CtDirection Direction;
    /// <summary>Forward: <see cref="CtTable.BackendCheckOf"/> of the backend's address and port.</summary>
    [FieldOffset(38)] public ushort BackendCheck;

    /// <summary>Slot index of the other direction's entry.</summary>
    [FieldOffset(40)] public int PartnerIndex;

    // ── Forward only ──
    [FieldOffset(44)] public uint BackendId;
    [FieldOffset(48)] public int Flags;
    /// <summary>Low 32 bits of the expiry in ms (compared wrap-safe: lifetimes are far below 2^31 ms).</summary>
    [FieldOffset(52)] public int ExpiresAtMs;
    /// <summary>Low 32 bits of the snapshot's policy revision at which this flow was last found
    /// allowed (SPEC §7: the verdict is cached in ct). One copy, on the forward entry: reply
    /// packets read that entry anyway.</summary>
    [FieldOffset(56)] public int PolicyRevision;
    /// <summary>Stable id of the frontend the flow was placed through (<c>FrontendEntry.Id</c>):
    /// packets of either direction count toward it without a frontend lookup.</summary>
    [FieldOffset(60)] public uint FrontendId;

    // ── Reply only ──
    /// <summary>The forward entry's State word as published; any change means it is gone.</summary>
    [FieldOffset(44)] public int PartnerState;
    /// <summary>Low 48 bits: the client-side previous hop's MAC (first packet's source MAC);
    /// high 16 bits: the device slot the flow's first packet came in on (replies leave there).</summary>
    [FieldOffset(48)] public ulong ClientMacAndSlot;
    /// <summary>Our MAC on that device (first packet's destination MAC), low 48 bits.</summary>
    [FieldOffset(56)] public ulong LocalMac;

    private const int SlotShift = 48;
    private const ulong MacMask = (1UL << SlotShift) - 1;

    // The packing of ClientMacAndSlot and LocalMac, in one place: the hot path reads the words into
    // locals (validated by the seqlock afterwards) and unpacks those.

    /// <summary>A MAC in the low 48 bits and a device slot in the high 16 (<see cref="ClientMacAndSlot"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Pack(in MacAddress mac, int slot) => Pack(in mac) | ((ulong)(ushort)slot << SlotShift);

    /// <summary>A MAC in the low 48 bits (<see cref="LocalMac"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Pack(in MacAddress mac) => Unsafe.BitCast<MacAddress, ulong>(mac) & MacMask;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MacAddress MacOf(ulong packed) => Unsafe.BitCast<ulong, MacAddress>(packed & MacMask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SlotOf(ulong packed) => (int)(packed >> SlotShift);

    public readonly MacAddress ClientMac() => MacOf(ClientMacAndSlot);

    public readonly MacAddress LocalMacAddress() => MacOf(LocalMac);

    public readonly int IngressSlot() => SlotOf(ClientMacAndSlot);
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
/// A handle to a ct entry found by <see cref="CtTable.TryLookup"/>: its slot, the State word it
/// was valid under, its direction and partner — not a copy of the entry. The hot path reads the
/// entry's other fields in place and <see cref="CtTable.Touch"/> re-checks the State words after
/// those reads (seqlock), so a slot reused meanwhile is detected. <see cref="CtTable.Details"/>
/// reads the entries' values for tests, tools and rare paths.
/// </summary>
public readonly struct CtFlow
{
    public readonly int Index;
    internal readonly int State;
    public readonly CtDirection Direction;
    public readonly int PartnerIndex;
    /// <summary>Reply handles: the forward entry's published State. Forward handles: 0 (the
    /// reply entry is matched through its own back-reference instead).</summary>
    internal readonly int PartnerState;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal CtFlow(int index, int state, CtDirection direction, int partnerIndex, int partnerState)
    {
        Index = index;
        State = state;
        Direction = direction;
        PartnerIndex = partnerIndex;
        PartnerState = partnerState;
    }

    public bool IsReply
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Direction == CtDirection.Reply;
    }
    internal int ForwardIndex
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => IsReply ? PartnerIndex : Index;
    }

    internal int ReplyIndex
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => IsReply ? Index : PartnerIndex;
    }

    internal int ForwardState
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => IsReply ? PartnerState : State;
    }

}

/// <summary>What a new flow's ct entries need to hold.</summary>
public readonly struct CtNewFlow
{
    public readonly uint BackendId;
    /// <summary><see cref="CtTable.BackendCheckOf"/> of the backend's address and port (a snapshot's
    /// backend entry holds it, computed once).</summary>
    public readonly ushort BackendCheck;
    public readonly int IngressSlot;
    public readonly MacAddress ClientMac;
    public readonly MacAddress LocalMac;
    /// <summary>Policy revision (low 32 bits) the flow's verdict was decided at.</summary>
    public readonly int PolicyRevision;
    /// <summary>Stable id of the frontend the flow came in through (per-frontend counters).</summary>
    public readonly uint FrontendId;

    public CtNewFlow(uint backendId, ushort backendCheck, int ingressSlot,
        in MacAddress clientMac, in MacAddress localMac, int policyRevision = 0, uint frontendId = 0)
    {
        FrontendId = frontendId;
        PolicyRevision = policyRevision;
        BackendId = backendId;
        BackendCheck = backendCheck;
        IngressSlot = ingressSlot;
        ClientMac = clientMac;
        LocalMac = localMac;
    }
}

/// <summary>Outcome of <see cref="CtTable.TryCreateFlow"/>.</summary>
public enum CtCreateResult : byte
{
    Created,
    /// <summary>The reply tuple already belongs to another flow.</summary>
    ReplyTupleInUse,
    /// <summary>No free slot in either bucket of one of the keys.</summary>
    Full,
}

/// <summary>A key's two buckets and hash tag, computed once and reused by lookup and insert.</summary>
public readonly struct CtProbe
{
    internal readonly int First;
    internal readonly int Second;
    internal readonly int Tag;

    internal CtProbe(int first, int second, int tag)
    {
        First = first;
        Second = second;
        Tag = tag;
    }
}

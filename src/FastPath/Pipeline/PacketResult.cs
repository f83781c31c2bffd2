using System.Runtime.CompilerServices;

namespace FastPath.Pipeline;

/// <summary>What to do with a frame (SPEC §1 verdicts; the fast path itself never passes to the kernel).</summary>
public enum Verdict : byte
{
    Drop = 0,
    /// <summary>Transmit the (rewritten) frame on <see cref="PacketResult.EgressSlot"/>.</summary>
    Forward = 1,
    /// <summary>Keep the frame, unchanged, until its next hop's neighbour resolves, then process it
    /// again (<see cref="PacketPipeline.ProcessHeld"/>): what the kernel's neighbour queue does for a
    /// packet <c>bpf_redirect_neigh</c> hands it. Only while the worker has room to hold it
    /// (<see cref="PacketPipeline.NeighbourHoldBudget"/>); otherwise the frame is dropped as no_neighbour.</summary>
    Hold = 2,
}

/// <summary>The outcome of <see cref="PacketPipeline.Process"/> for one frame.</summary>
/// <remarks>Packed into one 64-bit word (verdict, drop reason, egress slot, length) so it is built
/// and returned in a register. As four fields the JIT assembled it byte by byte on the stack and
/// read it back as one word: a store-forwarding stall that waited for every earlier store of the
/// packet — including a new flow's ct entry writes to lines not yet in cache — and took a fifth
/// of a new flow's time.</remarks>
public readonly struct PacketResult
{
    private const int ReasonShift = 8;
    private const int SlotShift = 16;
    private const int LengthShift = 32;

    private readonly ulong _packed;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PacketResult(ulong packed) => _packed = packed;

    public Verdict Verdict
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (Verdict)(byte)_packed;
    }

    public DropReason DropReason
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (DropReason)(byte)(_packed >> ReasonShift);
    }

    /// <summary>Device slot to transmit on (Forward only; −1 for a drop).</summary>
    public int EgressSlot
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (short)(ushort)(_packed >> SlotShift);
    }

    /// <summary>Bytes to transmit (the frame length; rewrites never change it).</summary>
    public int Length
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (int)(_packed >> LengthShift);
    }

    /// <param name="egressSlot">A device slot: 0 ≤ slot &lt; 32768 (the datapath has a handful).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PacketResult Forward(int egressSlot, int length) =>
        new((ulong)(uint)length << LengthShift | (ulong)(ushort)egressSlot << SlotShift | (byte)Verdict.Forward);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PacketResult Drop(DropReason reason) =>
        new(0xFFFFUL << SlotShift | (ulong)(byte)reason << ReasonShift | (byte)Verdict.Drop);

    /// <summary>Held for a missing neighbour; its reason says why (no_neighbour) should it be dropped after all.</summary>
    public static PacketResult Hold() =>
        new(0xFFFFUL << SlotShift | (ulong)(byte)DropReason.NoNeighbour << ReasonShift | (byte)Verdict.Hold);

    public override string ToString() => Verdict switch
    {
        Verdict.Forward => $"forward slot {EgressSlot} ({Length} bytes)",
        Verdict.Hold => "hold (awaiting neighbour)",
        _ => $"drop {DropReason.ToName()}",
    };
}

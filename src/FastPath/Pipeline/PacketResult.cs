using System.Runtime.CompilerServices;

namespace FastPath.Pipeline;

/// <summary>What to do with a frame (SPEC §1 verdicts; the fast path itself never passes to the kernel).</summary>
public enum Verdict : byte
{
    Drop = 0,
    /// <summary>Transmit the (rewritten) frame on <see cref="PacketResult.EgressSlot"/>.</summary>
    Forward = 1,
}

/// <summary>The outcome of <see cref="PacketPipeline.Process"/> for one frame.</summary>
public readonly struct PacketResult
{
    public readonly Verdict Verdict;
    public readonly DropReason DropReason;
    /// <summary>Device slot to transmit on (Forward only).</summary>
    public readonly int EgressSlot;
    /// <summary>Bytes to transmit (the frame length; rewrites never change it).</summary>
    public readonly int Length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PacketResult(Verdict verdict, DropReason reason, int egressSlot, int length)
    {
        Verdict = verdict;
        DropReason = reason;
        EgressSlot = egressSlot;
        Length = length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PacketResult Forward(int egressSlot, int length) => new(Verdict.Forward, DropReason.None, egressSlot, length);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PacketResult Drop(DropReason reason) => new(Verdict.Drop, reason, -1, 0);

    public override string ToString() =>
        Verdict == Verdict.Forward ? $"forward slot {EgressSlot} ({Length} bytes)" : $"drop {DropReason.ToName()}";
}

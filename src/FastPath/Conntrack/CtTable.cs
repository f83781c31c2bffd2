using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastPath.Packets;

namespace FastPath.Conntrack;

/// <summary>
/// The connection tracking table: fixed capacity, allocated once, shared by all workers and
/// one sweeper thread without locks.
///
/// Layout: buckets of <see cref="EntriesPerBucket"/> slots; a key may live in either of two
/// buckets picked by a seeded hash ("two choices": insert goes to the emptier one, so the
/// table fills evenly to a high load before an insert fails). Entries never move, so a slot
/// index stays valid as a handle until the entry is deleted.
///
/// Concurrency protocol (per slot, on its State word — status, generation and hash tag, kept in
/// an array apart from the entries; see <see cref="CtSlot"/>):
/// - insert: CAS Empty → Claimed (bumping the generation), fill key and value, then
///   Volatile.Write Valid (release: the fields are visible before the slot is).
/// - lookup: read State (acquire), compare key, copy the value, read barrier, re-read State;
///   if it changed the slot was deleted/reused meanwhile and the copy is discarded.
/// - delete: CAS Valid → Empty. Exactly one thread wins, so each removed reply key is
///   reported exactly once (by the sweeper or by the pipeline), never twice.
/// No tombstones: lookups scan both whole buckets, so a hole never hides a later entry.
///
/// A translated flow is two entries: Forward (client → VIP, owns lifetime and TCP state) and
/// Reply (backend → client). Each stores the other's index and published State, so either
/// direction reaches the owner in O(1) and detects that the owner is gone.
///
/// Known limit: two workers inserting the SAME key at the same instant could both succeed.
/// RSS hashes one direction of a flow to one queue, so one worker creates a given flow;
/// if it ever happened, lookups would return the first copy and the other would age out.
/// </summary>
public sealed class CtTable
{
    /// <summary>Slots per bucket: 8 State words = 32 bytes, half a cache line per bucket.</summary>
    public const int EntriesPerBucket = 8;
    private const int MinCapacity = 16;

    private readonly CtEntry[] _entries;
    // The State words live apart from the entries: one bucket's eight states share half a cache
    // line, so a lookup (or a miss, the common case of a new flow) reads one line per bucket and
    // touches an entry only when its 16-bit hash tag matches — instead of eight entry lines.
    private readonly int[] _states;
    private readonly int _bucketMask;
    private readonly ulong _seed;

    /// <param name="capacity">Total entries (two per flow), a power of two ≥ 16.</param>
    /// <param name="hashSeed">Secret hash seed; random when not given (tests pass one to be repeatable).</param>
    public CtTable(int capacity, ulong? hashSeed = null)
    {
        if (capacity < MinCapacity || !BitOperations.IsPow2(capacity))
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity,
                $"ct capacity must be a power of two >= {MinCapacity} (two entries per flow)");
        _entries = new CtEntry[capacity];
        _states = new int[capacity];
        BucketCount = capacity / EntriesPerBucket;
        _bucketMask = BucketCount - 1;
        _seed = hashSeed ?? (ulong)Random.Shared.NextInt64();
    }

    public int Capacity => _entries.Length;
    public int BucketCount { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref CtEntry At(int index) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_entries), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int StateAt(int index) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_states), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Buckets(in FlowKey key, out int first, out int second, out int tag)
    {
        ulong h = key.Hash64(_seed);
        first = (int)h & _bucketMask;
        second = (int)(h >> 32) & _bucketMask;
        if (second == first)
            second = first ^ 1;
        // Independent of the bucket bits, so entries sharing a bucket rarely share a tag.
        tag = (int)((h * 0x9E3779B97F4A7C15UL) >> 48);
    }

    /// <summary>Finds the entry for a wire tuple (either direction).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(in FlowKey key, out CtFlow flow)
    {
        Buckets(in key, out int first, out int second, out int tag);
        return FindInBucket(first, in key, tag, out flow) || FindInBucket(second, in key, tag, out flow);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool FindInBucket(int bucket, in FlowKey key, int tag, out CtFlow flow)
    {
        int start = bucket * EntriesPerBucket;
        for (int i = start; i < start + EntriesPerBucket; i++)
        {
            int state = Volatile.Read(ref StateAt(i));
            if ((state & CtSlot.StatusMask) != CtSlot.Valid || (state >>> CtSlot.TagShift) != tag)
                continue;
            ref CtEntry e = ref At(i);
            if (!e.Key.Equals(key))
                continue;
            var copy = new CtFlow(i, state, ref e);
            Volatile.ReadBarrier();
            if (Volatile.Read(ref StateAt(i)) != state)
                continue; // deleted or reused while we copied it
            flow = copy;
            return true;
        }
        flow = default;
        return false;
    }

    /// <summary>
    /// Creates both entries of a new translated flow. False when either key finds no free
    /// slot in its two buckets (table full): nothing is left behind, existing flows are untouched.
    /// </summary>
    public bool TryInsertFlow(in FlowKey forwardKey, in FlowKey replyKey, in CtNewFlow flow, byte tcpFlags, long nowMs,
        out CtFlow forward)
    {
        int forwardIndex = Claim(in forwardKey);
        int replyIndex = forwardIndex < 0 ? -1 : Claim(in replyKey);
        if (replyIndex < 0)
        {
            if (forwardIndex >= 0)
                Release(forwardIndex);
            forward = default;
            return false;
        }

        ref CtEntry fwd = ref At(forwardIndex);
        ref CtEntry rep = ref At(replyIndex);
        int forwardPublished = (StateAt(forwardIndex) & ~CtSlot.StatusMask) | CtSlot.Valid;
        int replyPublished = (StateAt(replyIndex) & ~CtSlot.StatusMask) | CtSlot.Valid;

        int flags = forwardKey.Protocol == WireConstants.ProtoTcp ? FlagsFor(tcpFlags, fromBackend: false) : 0;
        fwd.Key = forwardKey;
        fwd.Direction = CtDirection.Forward;
        fwd.BackendId = flow.BackendId;
        fwd.NatAddress = flow.BackendAddress;
        fwd.NatPortRaw = flow.BackendPortRaw;
        fwd.PartnerIndex = replyIndex;
        fwd.PartnerState = replyPublished;
        fwd.IngressSlot = flow.IngressSlot;
        fwd.ClientMac = flow.ClientMac;
        fwd.LocalMac = flow.LocalMac;
        fwd.PolicyRevision = flow.PolicyRevision;
        fwd.FrontendId = flow.FrontendId;
        fwd.Flags = flags;
        fwd.ExpiresAtMs = nowMs + Lifetime(forwardKey.Protocol, flags);

        rep.Key = replyKey;
        rep.Direction = CtDirection.Reply;
        rep.BackendId = flow.BackendId;
        rep.NatAddress = forwardKey.Destination;
        rep.NatPortRaw = forwardKey.DestinationPortRaw;
        rep.PartnerIndex = forwardIndex;
        rep.PartnerState = forwardPublished;
        rep.IngressSlot = flow.IngressSlot;
        rep.ClientMac = flow.ClientMac;
        rep.LocalMac = flow.LocalMac;
        rep.PolicyRevision = flow.PolicyRevision;
        rep.FrontendId = flow.FrontendId;
        rep.Flags = 0;
        rep.ExpiresAtMs = 0;

        // Forward first: a reply entry is only ever valid while its forward entry is, which is
        // what the sweeper's orphan check relies on.
        Volatile.Write(ref StateAt(forwardIndex), forwardPublished);
        Volatile.Write(ref StateAt(replyIndex), replyPublished);
        forward = new CtFlow(forwardIndex, forwardPublished, ref fwd);
        return true;
    }

    private int Claim(in FlowKey key)
    {
        Buckets(in key, out int first, out int second, out int tag);
        if (FreeSlots(second) > FreeSlots(first))
            (first, second) = (second, first);
        int index = ClaimIn(first, tag);
        return index >= 0 ? index : ClaimIn(second, tag);
    }

    private int FreeSlots(int bucket)
    {
        int free = 0;
        int start = bucket * EntriesPerBucket;
        for (int i = start; i < start + EntriesPerBucket; i++)
            if ((Volatile.Read(ref StateAt(i)) & CtSlot.StatusMask) == CtSlot.Empty)
                free++;
        return free;
    }

    private int ClaimIn(int bucket, int tag)
    {
        int start = bucket * EntriesPerBucket;
        for (int i = start; i < start + EntriesPerBucket; i++)
        {
            ref int state = ref StateAt(i);
            int seen = Volatile.Read(ref state);
            if ((seen & CtSlot.StatusMask) != CtSlot.Empty)
                continue;
            int generation = ((seen & CtSlot.GenerationMask) + CtSlot.GenerationStep) & CtSlot.GenerationMask;
            int claimed = (tag << CtSlot.TagShift) | generation | CtSlot.Claimed;
            if (Interlocked.CompareExchange(ref state, claimed, seen) == seen)
                return i;
        }
        return -1;
    }

    private void Release(int index)
    {
        ref int state = ref StateAt(index);
        Volatile.Write(ref state, state & ~CtSlot.StatusMask);
    }

    /// <summary>
    /// Records a packet of an existing flow: TCP state and expiry, on the flow's Forward entry
    /// whichever direction the packet went. False when the flow is gone (its Forward entry was
    /// deleted or reused since the lookup): the caller drops the packet.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Touch(in CtFlow flow, byte protocol, byte tcpFlags, long nowMs)
    {
        bool fromBackend = flow.Direction == CtDirection.Reply;
        int ownerIndex = fromBackend ? flow.PartnerIndex : flow.Index;
        ref CtEntry owner = ref At(ownerIndex);
        if (Volatile.Read(ref StateAt(ownerIndex)) != (fromBackend ? flow.PartnerState : flow.State))
            return false;

        int flags = Volatile.Read(ref owner.Flags);
        if (protocol == WireConstants.ProtoTcp)
        {
            if (IsClosing(flags) && !fromBackend && (tcpFlags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn)
                flags = ReopenFlags(ref owner.Flags); // client reuses the tuple for a new connection
            int add = FlagsFor(tcpFlags, fromBackend);
            if ((flags | add) != flags)
                flags = Interlocked.Or(ref owner.Flags, add) | add;
        }

        long expires = nowMs + Lifetime(protocol, flags);
        long current = Volatile.Read(ref owner.ExpiresAtMs);
        if (Math.Abs(expires - current) >= CtTimeouts.RefreshGranularityMs)
            Volatile.Write(ref owner.ExpiresAtMs, expires);
        return true;
    }

    /// <summary>
    /// Records that the flow was re-checked and is still allowed at <paramref name="policyRevision"/>,
    /// on both entries, so neither direction re-checks again until the next revision. A plain
    /// store per entry: two workers re-checking the same flow at once write the same value, and
    /// a slot reused meanwhile (State changed) is left alone — a lost update only costs one
    /// more re-check on the next packet.
    /// </summary>
    public void SetPolicyRevision(in CtFlow flow, int policyRevision)
    {
        ref CtEntry self = ref At(flow.Index);
        if (Volatile.Read(ref StateAt(flow.Index)) == flow.State)
            Volatile.Write(ref self.PolicyRevision, policyRevision);
        ref CtEntry partner = ref At(flow.PartnerIndex);
        if (Volatile.Read(ref StateAt(flow.PartnerIndex)) == flow.PartnerState)
            Volatile.Write(ref partner.PolicyRevision, policyRevision);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int ReopenFlags(ref int flags)
    {
        Interlocked.Exchange(ref flags, 0);
        return 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int FlagsFor(byte tcpFlags, bool fromBackend)
    {
        int add = 0;
        if ((tcpFlags & TcpFlags.Syn) == 0)
            add |= CtFlowFlags.SeenNonSyn;
        if ((tcpFlags & TcpFlags.Fin) != 0)
            add |= fromBackend ? CtFlowFlags.FinFromBackend : CtFlowFlags.FinFromClient;
        if ((tcpFlags & TcpFlags.Rst) != 0)
            add |= CtFlowFlags.Reset;
        return add;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsClosing(int flags) =>
        (flags & CtFlowFlags.ClosingMask) != 0 || (flags & CtFlowFlags.BothFins) == CtFlowFlags.BothFins;

    /// <summary>Idle lifetime for a flow in this state (see <see cref="CtTimeouts"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Lifetime(byte protocol, int flags)
    {
        if (protocol != WireConstants.ProtoTcp)
            return CtTimeouts.NonTcpMs;
        if (IsClosing(flags))
            return CtTimeouts.TcpCloseMs;
        return (flags & CtFlowFlags.SeenNonSyn) != 0 ? CtTimeouts.TcpEstablishedMs : CtTimeouts.TcpSynMs;
    }

    /// <summary>
    /// Deletes both entries of the flow <paramref name="flow"/> belongs to (either direction).
    /// True when this call removed it; then <paramref name="replyKey"/> is the fp_flows key the
    /// caller must delete from the BPF map. False when someone else already removed it.
    /// </summary>
    public bool DeleteFlow(in CtFlow flow, out FlowReplyKey replyKey)
    {
        bool isForward = flow.Direction == CtDirection.Forward;
        int forwardIndex = isForward ? flow.Index : flow.PartnerIndex;
        int forwardState = isForward ? flow.State : flow.PartnerState;
        int replyIndex = isForward ? flow.PartnerIndex : flow.Index;
        int replyState = isForward ? flow.PartnerState : flow.State;
        return DeletePair(forwardIndex, forwardState, replyIndex, replyState, out replyKey);
    }

    private bool DeletePair(int forwardIndex, int forwardState, int replyIndex, int replyState, out FlowReplyKey replyKey)
    {
        replyKey = default;
        if (Interlocked.CompareExchange(ref StateAt(forwardIndex), forwardState & ~CtSlot.StatusMask, forwardState) != forwardState)
            return false;
        return TryRemoveReply(replyIndex, replyState, out replyKey);
    }

    private bool TryRemoveReply(int replyIndex, int replyState, out FlowReplyKey replyKey)
    {
        ref CtEntry rep = ref At(replyIndex);
        var key = FlowReplyKey.From(in rep.Key);
        Volatile.ReadBarrier();
        if (Interlocked.CompareExchange(ref StateAt(replyIndex), replyState & ~CtSlot.StatusMask, replyState) != replyState)
        {
            replyKey = default;
            return false; // the sweeper removed it as an orphan and reported it
        }
        replyKey = key;
        return true;
    }

    /// <summary>
    /// Incremental expiry for the background sweeper: scans buckets
    /// [<paramref name="startBucket"/>, +<paramref name="bucketCount"/>), deletes flows whose
    /// lifetime ended at or before <paramref name="nowMs"/> (and reply entries whose forward
    /// entry is gone), and writes each removed flow's fp_flows key. Stops early rather than
    /// lose a key when the output span could not hold a whole bucket's worth
    /// (<see cref="EntriesPerBucket"/>). Never blocks workers: every removal is one CAS.
    /// </summary>
    /// <param name="nextBucket">Where the next call should start (0 after the last bucket).</param>
    /// <returns>How many keys were written to <paramref name="expiredReplyKeys"/>.</returns>
    public int Sweep(int startBucket, int bucketCount, long nowMs, Span<FlowReplyKey> expiredReplyKeys, out int nextBucket)
    {
        int written = 0;
        int bucket = Math.Max(0, startBucket);
        int end = (int)Math.Min((long)bucket + Math.Max(0, bucketCount), BucketCount);
        for (; bucket < end && written + EntriesPerBucket <= expiredReplyKeys.Length; bucket++)
        {
            int start = bucket * EntriesPerBucket;
            for (int i = start; i < start + EntriesPerBucket; i++)
            {
                if (SweepSlot(i, nowMs, out FlowReplyKey key))
                    expiredReplyKeys[written++] = key;
            }
        }
        nextBucket = bucket >= BucketCount ? 0 : bucket;
        return written;
    }

    private bool SweepSlot(int index, long nowMs, out FlowReplyKey replyKey)
    {
        replyKey = default;
        ref CtEntry e = ref At(index);
        int state = Volatile.Read(ref StateAt(index));
        if ((state & CtSlot.StatusMask) != CtSlot.Valid)
            return false;
        CtDirection direction = e.Direction;
        int partnerIndex = e.PartnerIndex;
        int partnerState = e.PartnerState;
        long expires = Volatile.Read(ref e.ExpiresAtMs);
        Volatile.ReadBarrier();
        if (Volatile.Read(ref StateAt(index)) != state)
            return false;

        if (direction == CtDirection.Forward)
            return expires <= nowMs && DeletePair(index, state, partnerIndex, partnerState, out replyKey);

        // Reply entry: alive exactly as long as its forward entry is.
        if (Volatile.Read(ref StateAt(partnerIndex)) == partnerState)
            return false;
        return TryRemoveReply(index, state, out replyKey);
    }

    /// <summary>Empties the table. Only while no worker or sweeper uses it (benchmarks, tests):
    /// it is a plain memory clear, not a sequence of CAS removals.</summary>
    public void ClearUnsynchronized()
    {
        Array.Clear(_entries);
        Array.Clear(_states);
    }

    /// <summary>Valid entries right now (two per flow). Scans the whole table: tests and stats only.</summary>
    public int CountEntries()
    {
        int count = 0;
        for (int i = 0; i < _entries.Length; i++)
            if ((Volatile.Read(ref _states[i]) & CtSlot.StatusMask) == CtSlot.Valid)
                count++;
        return count;
    }
}

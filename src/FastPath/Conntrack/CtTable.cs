using System.Diagnostics;
using System.Numerics;
using System.Runtime.Intrinsics;
using FastPath.Addressing;
using FastPath.NextHop;
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
///   Volatile.Write Valid (release: the fields are visible before the slot is). With a single
///   inserting thread (<see cref="SingleInserter"/>) the claim is a plain store: nobody else
///   turns an Empty slot into anything, so there is no one to race.
/// - lookup: read State (acquire), compare key, read direction and partner, read barrier,
///   re-read State; if it changed the slot was deleted/reused meanwhile and the match is
///   discarded. Value fields are read in place afterwards and validated by <see cref="Touch"/>,
///   which re-reads the State words after a read barrier.
/// - delete: CAS Valid → Empty. Exactly one thread wins, so each removed reply key is
///   reported exactly once (by the sweeper or by the pipeline), never twice.
/// No tombstones: lookups scan both whole buckets, so a hole never hides a later entry.
///
/// A translated flow is two entries: Forward (client → VIP, owns lifetime and TCP state) and
/// Reply (backend → client). Each stores the other's index, and the reply the forward entry's
/// published State, so either direction reaches the owner in O(1) and detects that it is gone;
/// the forward entry recognises its reply by the reply's back-reference (index and State).
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
    private const int CacheLineBytes = 64;

    // Entries live in a pinned byte array, addressed from its first 64-byte boundary, so each
    // 64-byte entry is exactly one cache line (a managed CtEntry[] starts 16 bytes into an
    // 8-byte-aligned object and would straddle two lines per entry).
    private readonly byte[] _storage;
    // The State words live apart from the entries: one bucket's eight states share half a cache
    // line, so a lookup (or a miss, the common case of a new flow) reads one line per bucket and
    // touches an entry only when its 16-bit hash tag matches — instead of eight entry lines.
    // Pinned and addressed from a 64-byte boundary too: a managed int[]'s data starts 16 bytes
    // into the object, which split every other bucket across two cache lines.
    private readonly int[] _states;
    // Both arrays are pinned (they never move) and kept alive by the fields above, so the hot
    // path addresses them through these aligned pointers: one field load per access, instead of
    // the array reference, its null check and the alignment offset.
    private readonly unsafe byte* _entries;
    private readonly unsafe int* _stateWords;
    private readonly int _bucketMask;
    private readonly ulong _seed;
    private readonly bool _singleInserter;

    /// <param name="capacity">Total entries (two per flow), a power of two ≥ 16.</param>
    /// <param name="hashSeed">Secret hash seed; random when not given (tests pass one to be repeatable).</param>
    /// <param name="singleInserter">Only one thread ever inserts (one worker): see <see cref="SingleInserter"/>.</param>
    public CtTable(int capacity, ulong? hashSeed = null, bool singleInserter = false)
    {
        if (capacity < MinCapacity || !BitOperations.IsPow2(capacity))
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity,
                $"ct capacity must be a power of two >= {MinCapacity} (two entries per flow)");
        _storage = GC.AllocateArray<byte>(checked(capacity * CtEntry.Bytes + CacheLineBytes), pinned: true);
        _states = GC.AllocateArray<int>(capacity + CacheLineBytes / sizeof(int), pinned: true);
        unsafe
        {
            _entries = (byte*)AlignedStart(_storage);
            _stateWords = (int*)AlignedStart(_states);
        }
        Capacity = capacity;
        BucketCount = capacity / EntriesPerBucket;
        _bucketMask = BucketCount - 1;
        _seed = hashSeed ?? (ulong)Random.Shared.NextInt64();
        _singleInserter = singleInserter;
    }

    /// <summary>
    /// True when one thread does every insert (an agent with one worker: one RX queue per
    /// device). Then a slot is claimed with a plain store instead of a CAS: the two CASes (forward
    /// and reply entry) cost a new flow 5–10 % of its time (perf/README.md). Sound because only an
    /// inserter ever changes an Empty slot: deleters and the sweeper only CAS Valid → Empty, and
    /// the claim's generation bump still fails any CAS that saw the slot before. Deletes and
    /// sweeps from other threads stay allowed; a second inserting thread is not.
    /// </summary>
    public bool SingleInserter => _singleInserter;

    public int Capacity { get; }
    public int BucketCount { get; }

    /// <summary>The first 64-byte boundary in a pinned array's data.</summary>
    private static unsafe void* AlignedStart<T>(T[] pinned)
    {
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
        return (void*)((address + CacheLineBytes - 1) & ~(nint)(CacheLineBytes - 1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal unsafe ref CtEntry EntryAt(int index) =>
        ref Unsafe.AsRef<CtEntry>(_entries + (nint)(uint)index * CtEntry.Bytes);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe ref int StateAt(int index) => ref _stateWords[(uint)index];

    /// <summary>Bit i set when slot i of <paramref name="bucket"/> is Valid with hash tag
    /// <paramref name="tag"/>: all eight State words compared at once (one 32-byte load), so
    /// a lookup branches per candidate instead of per slot — which slot holds a flow is random,
    /// and the per-slot loop mispredicted its exit on most lookups of a batch of distinct flows.
    /// A filter only: candidates are re-read and checked one by one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint CandidateMask(int bucket, int tag)
    {
        Vector256<int> states = Vector256.LoadUnsafe(ref StateAt(bucket * EntriesPerBucket));
        Vector256<int> masked = states & Vector256.Create(unchecked((int)0xFFFF_0000) | CtSlot.StatusMask);
        return Vector256.Equals(masked, Vector256.Create((tag << CtSlot.TagShift) | CtSlot.Valid)).ExtractMostSignificantBits();
    }

    /// <summary>Tag matches in both of a probe's buckets: bits 0–7 the first bucket's, 8–15 the second's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint Candidates(in CtProbe probe) =>
        CandidateMask(probe.First, probe.Tag) | (CandidateMask(probe.Second, probe.Tag) << EntriesPerBucket);

    /// <summary>Bit i set when slot i of <paramref name="bucket"/> is Empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint EmptyMask(int bucket)
    {
        Vector256<int> states = Vector256.LoadUnsafe(ref StateAt(bucket * EntriesPerBucket));
        return Vector256.Equals(states & Vector256.Create(CtSlot.StatusMask), Vector256<int>.Zero).ExtractMostSignificantBits();
    }

    /// <summary>16 bits of a backend's address and port: a forward entry keeps it beside the
    /// backend id, so an id that a snapshot ever reused for another backend stops the flow
    /// instead of redirecting it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ushort BackendCheckOf(in NetAddress address, ushort portRaw)
    {
        uint h = address.Hash32() ^ ((uint)portRaw * 0x9E3779B1u);
        return (ushort)(h ^ (h >> 16));
    }

    /// <summary>Buckets and tag of a key; pass the result to <see cref="TryLookup(in FlowKey, in CtProbe, out CtFlow)"/>
    /// and <see cref="TryCreateFlow"/> so a new flow hashes its key once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public CtProbe Probe(in FlowKey key)
    {
        ulong h = key.Hash64(_seed);
        int first = (int)h & _bucketMask;
        int second = (int)(h >> 32) & _bucketMask;
        if (second == first)
            second = first ^ 1;
        // Independent of the bucket bits, so entries sharing a bucket rarely share a tag.
        int tag = (int)((h * 0x9E3779B97F4A7C15UL) >> 48);
        return new CtProbe(first, second, tag);
    }

    /// <summary>Starts loading the State lines of a probe's two buckets, for a lookup or insert a
    /// little later (a new flow's reply key, known once its backend is chosen, is looked up and
    /// inserted after the policy and next-hop decisions). A hint only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(in CtProbe probe)
    {
        PrefetchLine(ref StateAt(probe.First * EntriesPerBucket));
        PrefetchLine(ref StateAt(probe.Second * EntriesPerBucket));
    }

    /// <summary>Starts loading the cache line holding <paramref name="location"/> (x86; elsewhere nothing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchLine<T>(ref T location)
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(Unsafe.AsPointer(ref location));
    }

    /// <summary>Finds the entry for a wire tuple (either direction).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(in FlowKey key, out CtFlow flow)
    {
        CtProbe probe = Probe(in key);
        return TryLookup(in key, in probe, out flow);
    }

    /// <remarks>Both buckets' State words are loaded before either is searched, so for a large
    /// table their two cache misses overlap; first-bucket candidates are tried first.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(in FlowKey key, in CtProbe probe, out CtFlow flow)
    {
        uint candidates = Candidates(in probe);
        if (candidates == 0)
        {
            flow = default;
            return false;
        }
        return FindAmong(candidates, probe.First, probe.Second, in key, probe.Tag, out flow);
    }

    /// <summary>The slot bit <paramref name="bit"/> of a two-bucket candidate mask names (bits 0–7:
    /// the first bucket, 8–15: the second).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CandidateSlot(int first, int second, int bit) =>
        bit < EntriesPerBucket ? first * EntriesPerBucket + bit : second * EntriesPerBucket + bit - EntriesPerBucket;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool FindAmong(uint candidates, int first, int second, in FlowKey key, int tag, out CtFlow flow)
    {
        do
        {
            int bit = BitOperations.TrailingZeroCount(candidates);
            candidates &= candidates - 1;
            int i = CandidateSlot(first, second, bit);
            int state = Volatile.Read(ref StateAt(i));
            if ((state & CtSlot.StatusMask) != CtSlot.Valid || (state >>> CtSlot.TagShift) != tag)
                continue;
            ref CtEntry e = ref EntryAt(i);
            if (!KeyEquals(ref e, in key))
                continue;
            CtDirection direction = e.Direction;
            int partnerIndex = e.PartnerIndex;
            int partnerState = direction == CtDirection.Reply ? e.PartnerState : 0;
            Volatile.ReadBarrier();
            if (Volatile.Read(ref StateAt(i)) != state)
                continue; // deleted or reused while we read it
            flow = new CtFlow(i, state, direction, partnerIndex, partnerState);
            return true;
        }
        while (candidates != 0);
        flow = default;
        return false;
    }

    /// <summary>Key compare: two 16-byte vector compares for the addresses, one masked 64-bit
    /// compare for ports and protocol (the entry keeps direction and backend check where the key has padding).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool KeyEquals(ref CtEntry e, in FlowKey key)
    {
        ref byte a = ref Unsafe.As<CtEntry, byte>(ref e);
        ref byte b = ref Unsafe.As<FlowKey, byte>(ref Unsafe.AsRef(in key));
        Vector128<byte> diff = (Vector128.LoadUnsafe(ref a) ^ Vector128.LoadUnsafe(ref b))
                             | (Vector128.LoadUnsafe(ref a, 16) ^ Vector128.LoadUnsafe(ref b, 16));
        ulong tail = (Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref a, 32)) ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, 32)))
                   & CtEntry.KeyTailMask;
        return diff == Vector128<byte>.Zero && tail == 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteKey(ref CtEntry e, in FlowKey key)
    {
        e.Source = key.Source;
        e.Destination = key.Destination;
        e.SourcePortRaw = key.SourcePortRaw;
        e.DestinationPortRaw = key.DestinationPortRaw;
        e.Protocol = key.Protocol;
    }

    private static FlowKey KeyOf(ref CtEntry e) =>
        new(in e.Source, in e.Destination, e.SourcePortRaw, e.DestinationPortRaw, e.Protocol);

    /// <summary>
    /// Creates both entries of a new translated flow. False when either key finds no free
    /// slot in its two buckets (table full): nothing is left behind, existing flows are untouched.
    /// </summary>
    public bool TryInsertFlow(in FlowKey forwardKey, in FlowKey replyKey, in CtNewFlow flow, byte tcpFlags, long nowMs,
        out CtFlow forward)
    {
        CtProbe forwardProbe = Probe(in forwardKey);
        return InsertFlow(in forwardKey, in forwardProbe, in replyKey, Probe(in replyKey), in flow, tcpFlags, nowMs, out forward);
    }

    /// <summary>
    /// The new-flow path in one call: <paramref name="forwardKey"/> was just looked up and missed
    /// (its <paramref name="forwardProbe"/> is reused; <paramref name="replyProbe"/> was computed,
    /// and <see cref="Prefetch"/>ed, when the backend was chosen); checks that the reply tuple is
    /// not another flow's, then creates both entries. Each key is hashed once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public CtCreateResult TryCreateFlow(in FlowKey forwardKey, in CtProbe forwardProbe, in FlowKey replyKey, in CtProbe replyProbe,
        in CtNewFlow flow, byte tcpFlags, long nowMs)
    {
        if (TryLookup(in replyKey, in replyProbe, out _))
            return CtCreateResult.ReplyTupleInUse;
        return InsertFlow(in forwardKey, in forwardProbe, in replyKey, in replyProbe, in flow, tcpFlags, nowMs, out _)
            ? CtCreateResult.Created
            : CtCreateResult.Full;
    }

    /// <remarks>Inlined, with its claims, into the new-flow path: as calls, the caller kept its many
    /// live values on the stack across them (3–7 % of a new flow against the C reference).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool InsertFlow(in FlowKey forwardKey, in CtProbe forwardProbe, in FlowKey replyKey, in CtProbe replyProbe,
        in CtNewFlow flow, byte tcpFlags, long nowMs, out CtFlow forward)
    {
        int forwardIndex = Claim(in forwardProbe);
        int replyIndex = forwardIndex < 0 ? -1 : Claim(in replyProbe);
        if (replyIndex < 0)
        {
            if (forwardIndex >= 0)
                Release(forwardIndex);
            forward = default;
            return false;
        }

        ref CtEntry fwd = ref EntryAt(forwardIndex);
        ref CtEntry rep = ref EntryAt(replyIndex);
        int forwardPublished = (StateAt(forwardIndex) & ~CtSlot.StatusMask) | CtSlot.Valid;
        int replyPublished = (StateAt(replyIndex) & ~CtSlot.StatusMask) | CtSlot.Valid;

        int flags = forwardKey.Protocol == WireConstants.ProtoTcp ? FlagsFor(tcpFlags, fromBackend: false) : 0;
        WriteKey(ref fwd, in forwardKey);
        fwd.Direction = CtDirection.Forward;
        fwd.BackendCheck = flow.BackendCheck;
        fwd.PartnerIndex = replyIndex;
        fwd.BackendId = flow.BackendId;
        fwd.Flags = flags;
        fwd.ExpiresAtMs = (int)(nowMs + Lifetime(forwardKey.Protocol, flags));
        fwd.PolicyRevision = flow.PolicyRevision;
        fwd.FrontendId = flow.FrontendId;

        WriteKey(ref rep, in replyKey);
        rep.Direction = CtDirection.Reply;
        rep.BackendCheck = 0;
        rep.PartnerIndex = forwardIndex;
        rep.PartnerState = forwardPublished;
        rep.ClientMacAndSlot = CtEntry.Pack(in flow.ClientMac, flow.IngressSlot);
        rep.LocalMac = CtEntry.Pack(in flow.LocalMac);

        // Forward first: a reply entry is only ever valid while its forward entry is, which is
        // what the sweeper's orphan check relies on.
        Volatile.Write(ref StateAt(forwardIndex), forwardPublished);
        Volatile.Write(ref StateAt(replyIndex), replyPublished);
        forward = new CtFlow(forwardIndex, forwardPublished, CtDirection.Forward, replyIndex, 0);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Claim(in CtProbe probe)
    {
        var (first, firstEmpty, second, secondEmpty) = ByRoom(in probe);
        int index = ClaimIn(first, firstEmpty, probe.Tag);
        return index >= 0 ? index : ClaimIn(second, secondEmpty, probe.Tag);
    }

    /// <summary>A probe's two buckets with their empty-slot masks, the emptier first: an insert
    /// tries that one first (two choices keep the buckets evenly filled).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private (int First, uint FirstEmpty, int Second, uint SecondEmpty) ByRoom(in CtProbe probe)
    {
        uint firstEmpty = EmptyMask(probe.First), secondEmpty = EmptyMask(probe.Second);
        return BitOperations.PopCount(secondEmpty) > BitOperations.PopCount(firstEmpty)
            ? (probe.Second, secondEmpty, probe.First, firstEmpty)
            : (probe.First, firstEmpty, probe.Second, secondEmpty);
    }

    /// <summary>
    /// For a key whose State lines were <see cref="Prefetch"/>ed a little earlier: starts loading
    /// the entry line its lookup will compare first (the first hash-tag match) or, when no tag
    /// matches — a new flow — the line an insert would claim now. A new flow's two entry lines
    /// are the misses it otherwise waits for: its stores queue behind them until the claim's
    /// CAS must drain them. True when a tag matched (the key probably exists). A hint only: the
    /// lookup and the claim decide again when the frame's turn comes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool PrefetchEntry(in CtProbe probe)
    {
        uint candidates = Candidates(in probe);
        int index;
        if (candidates != 0)
        {
            int bit = BitOperations.TrailingZeroCount(candidates);
            index = CandidateSlot(probe.First, probe.Second, bit);
        }
        else
        {
            var (first, firstEmpty, second, secondEmpty) = ByRoom(in probe);
            if (firstEmpty != 0)
                index = first * EntriesPerBucket + BitOperations.TrailingZeroCount(firstEmpty);
            else if (secondEmpty != 0)
                index = second * EntriesPerBucket + BitOperations.TrailingZeroCount(secondEmpty);
            else
                return false;
        }
        PrefetchLine(ref EntryAt(index));
        return candidates != 0;
    }

    /// <summary>Claims one of the slots <paramref name="empty"/> marks (as seen a moment ago; each
    /// is re-checked, by its CAS when other threads insert too), lowest first. −1 when another
    /// thread took them all.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ClaimIn(int bucket, uint empty, int tag)
    {
        for (; empty != 0; empty &= empty - 1)
        {
            int i = bucket * EntriesPerBucket + BitOperations.TrailingZeroCount(empty);
            ref int state = ref StateAt(i);
            int seen = Volatile.Read(ref state);
            if ((seen & CtSlot.StatusMask) != CtSlot.Empty)
                continue;
            int generation = ((seen & CtSlot.GenerationMask) + CtSlot.GenerationStep) & CtSlot.GenerationMask;
            int claimed = (tag << CtSlot.TagShift) | generation | CtSlot.Claimed;
            if (_singleInserter)
            {
                state = claimed; // seen Empty, and only this thread changes Empty slots
                return i;
            }
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
    /// whichever direction the packet went. False when the flow is gone (its Forward entry — or,
    /// for a reply, its Reply entry — was deleted or reused since the lookup): the caller drops
    /// the packet. Also the seqlock check for every entry field the caller read in place
    /// between <see cref="TryLookup(in FlowKey, out CtFlow)"/> and this call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Touch(in CtFlow flow, byte protocol, byte tcpFlags, long nowMs) =>
        TouchAs(in flow, protocol, tcpFlags, nowMs, fromBackend: flow.IsReply);

    /// <summary><see cref="Touch"/> for a handle the caller knows is Forward: with the direction a
    /// constant, the JIT leaves out the other direction's branches.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TouchForward(in CtFlow flow, byte protocol, byte tcpFlags, long nowMs)
    {
        Debug.Assert(!flow.IsReply);
        return TouchAs(in flow, protocol, tcpFlags, nowMs, fromBackend: false);
    }

    /// <summary><see cref="Touch"/> for a handle the caller knows is Reply.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TouchReply(in CtFlow flow, byte protocol, byte tcpFlags, long nowMs)
    {
        Debug.Assert(flow.IsReply);
        return TouchAs(in flow, protocol, tcpFlags, nowMs, fromBackend: true);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TouchAs(in CtFlow flow, byte protocol, byte tcpFlags, long nowMs, bool fromBackend)
    {
        int ownerIndex = fromBackend ? flow.PartnerIndex : flow.Index;
        int ownerState = fromBackend ? flow.PartnerState : flow.State;
        ref CtEntry owner = ref EntryAt(ownerIndex);
        Volatile.ReadBarrier();
        if (Volatile.Read(ref StateAt(ownerIndex)) != ownerState
            || (fromBackend && Volatile.Read(ref StateAt(flow.Index)) != flow.State))
            return false;

        int flags = Volatile.Read(ref owner.Flags);
        // Most TCP segments belong to an established connection and carry no SYN, FIN or RST:
        // they have nothing to record, only the expiry to refresh.
        if (protocol == WireConstants.ProtoTcp
            && (flags != CtFlowFlags.SeenNonSyn || (tcpFlags & (TcpFlags.Syn | TcpFlags.Fin | TcpFlags.Rst)) != 0))
        {
            if (IsClosing(flags) && !fromBackend && (tcpFlags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn)
            {
                // The client reuses the tuple for a new connection. One instruction, inline: a call
                // here, however rare, made the JIT keep its callers' values on the stack.
                Interlocked.Exchange(ref owner.Flags, 0);
                flags = 0;
            }
            int add = FlagsFor(tcpFlags, fromBackend);
            if ((flags | add) != flags)
                flags = Interlocked.Or(ref owner.Flags, add) | add;
        }

        int expires = (int)(nowMs + Lifetime(protocol, flags));
        int drift = expires - Volatile.Read(ref owner.ExpiresAtMs);
        if (drift >= CtTimeouts.RefreshGranularityMs || drift <= -CtTimeouts.RefreshGranularityMs)
            Volatile.Write(ref owner.ExpiresAtMs, expires);
        return true;
    }

    /// <summary>The values of a flow's entries (unvalidated: see <see cref="CtFlowDetails"/>).</summary>
    public CtFlowDetails Details(in CtFlow flow)
    {
        ref CtEntry forward = ref EntryAt(flow.ForwardIndex);
        ref CtEntry reply = ref EntryAt(flow.ReplyIndex);
        return new CtFlowDetails(
            forward.BackendId,
            forward.FrontendId,
            flow.IsReply ? forward.Destination : reply.Source,
            flow.IsReply ? forward.DestinationPortRaw : reply.SourcePortRaw,
            reply.IngressSlot(),
            reply.ClientMac(),
            reply.LocalMacAddress(),
            Volatile.Read(ref forward.PolicyRevision));
    }

    /// <summary>Whether the entry <paramref name="flow"/> names is still the one that was found.</summary>
    internal bool IsCurrent(in CtFlow flow)
    {
        Volatile.ReadBarrier();
        return Volatile.Read(ref StateAt(flow.Index)) == flow.State;
    }

    /// <summary>
    /// Records that the flow was re-checked and is still allowed at <paramref name="policyRevision"/>,
    /// on its forward entry (the one copy both directions compare), so it is not re-checked again
    /// until the next revision. A plain store: two workers re-checking the same flow at once write
    /// the same value, and a slot reused meanwhile (State changed) is left alone — a lost update
    /// only costs one more re-check on the next packet.
    /// </summary>
    public void SetPolicyRevision(in CtFlow flow, int policyRevision)
    {
        ref CtEntry owner = ref EntryAt(flow.ForwardIndex);
        if (Volatile.Read(ref StateAt(flow.ForwardIndex)) == flow.ForwardState)
            Volatile.Write(ref owner.PolicyRevision, policyRevision);
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
    public bool DeleteFlow(in CtFlow flow, out FlowReplyKey replyKey) =>
        DeletePair(flow.ForwardIndex, flow.ForwardState, flow.ReplyIndex, out replyKey);

    private bool DeletePair(int forwardIndex, int forwardState, int replyIndex, out FlowReplyKey replyKey)
    {
        replyKey = default;
        if (Interlocked.CompareExchange(ref StateAt(forwardIndex), forwardState & ~CtSlot.StatusMask, forwardState) != forwardState)
            return false;
        return TryRemoveReplyOf(replyIndex, forwardIndex, forwardState, out replyKey);
    }

    /// <summary>Removes the reply entry at <paramref name="replyIndex"/> if it still is the reply of
    /// the forward entry (<paramref name="forwardIndex"/>, <paramref name="forwardState"/>) — its
    /// back-reference says so — and nobody (the sweeper's orphan check) removed it first.</summary>
    private bool TryRemoveReplyOf(int replyIndex, int forwardIndex, int forwardState, out FlowReplyKey replyKey)
    {
        ref CtEntry rep = ref EntryAt(replyIndex);
        int state = Volatile.Read(ref StateAt(replyIndex));
        if ((state & CtSlot.StatusMask) != CtSlot.Valid
            || rep.PartnerIndex != forwardIndex || rep.PartnerState != forwardState || rep.Direction != CtDirection.Reply)
        {
            replyKey = default;
            return false;
        }
        return TryRemoveReply(replyIndex, state, out replyKey);
    }

    /// <summary>Removes the reply entry that was <paramref name="replyState"/> and reports its key; false when
    /// someone else removed it first (the forward entry's deleter, or the sweeper's orphan check) and
    /// reported it there. Every field read before the CAS is validated by it.</summary>
    private bool TryRemoveReply(int replyIndex, int replyState, out FlowReplyKey replyKey)
    {
        ref CtEntry rep = ref EntryAt(replyIndex);
        var key = FlowReplyKey.From(KeyOf(ref rep));
        Volatile.ReadBarrier();
        if (Interlocked.CompareExchange(ref StateAt(replyIndex), replyState & ~CtSlot.StatusMask, replyState) != replyState)
        {
            replyKey = default;
            return false;
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
        int state = Volatile.Read(ref StateAt(index));
        if ((state & CtSlot.StatusMask) != CtSlot.Valid)
            return false;
        ref CtEntry e = ref EntryAt(index);
        CtDirection direction = e.Direction;
        int partnerIndex = e.PartnerIndex;
        int partnerState = e.PartnerState;
        int expires = Volatile.Read(ref e.ExpiresAtMs);
        Volatile.ReadBarrier();
        if (Volatile.Read(ref StateAt(index)) != state)
            return false;

        if (direction == CtDirection.Forward)
            return expires - (int)nowMs <= 0 && DeletePair(index, state, partnerIndex, out replyKey);

        // Reply entry: alive exactly as long as its forward entry is.
        if (Volatile.Read(ref StateAt(partnerIndex)) == partnerState)
            return false;
        return TryRemoveReply(index, state, out replyKey);
    }

    /// <summary>Empties the table. Only while no worker or sweeper uses it (benchmarks, tests):
    /// it is a plain memory clear, not a sequence of CAS removals.</summary>
    public void ClearUnsynchronized()
    {
        Array.Clear(_storage);
        Array.Clear(_states);
    }

    /// <summary>Valid entries right now (two per flow). Scans the whole table: tests and stats only.</summary>
    public int CountEntries()
    {
        int count = 0;
        for (int i = 0; i < Capacity; i++)
            if ((Volatile.Read(ref StateAt(i)) & CtSlot.StatusMask) == CtSlot.Valid)
                count++;
        return count;
    }
}

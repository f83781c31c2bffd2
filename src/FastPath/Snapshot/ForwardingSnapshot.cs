using System.Runtime.CompilerServices;
using FastPath.Addressing;
using FastPath.Maglev;
using FastPath.Policy;

namespace FastPath.Snapshot;

/// <summary>
/// Everything a worker needs to place a new flow and to check an existing one, frozen at one
/// control-plane revision. Built off the fast path by <see cref="ForwardingSnapshotBuilder"/>
/// and published by swapping one reference; workers read that reference once per batch, so a
/// batch never sees half an update. Never mutated after construction.
/// </summary>
public sealed class ForwardingSnapshot
{
    private readonly int[] _frontendSlots;   // open addressing: frontend index + 1, 0 = empty
    private readonly int _frontendMask;
    private readonly FrontendEntry[] _frontends;
    private readonly BackendEntry[] _backends; // by backend id; [0] unused

    internal ForwardingSnapshot(long revision, MaglevParameters parameters, FrontendEntry[] frontends, BackendEntry[] backends,
        SnapshotPolicy policy)
    {
        Revision = revision;
        Policy = policy.Verdicts;
        IpCache = policy.IpCache;
        PolicyRevision = policy.Revision;
        PolicyRevisionTag = unchecked((int)policy.Revision);
        PolicyAwareSelection = policy.AwareSelection;
        Parameters = parameters;
        LookupSeedV4 = parameters.LookupSeedV4;
        LookupSeedV6 = parameters.LookupSeedV6;
        LookupModulus = new FastModulus((uint)parameters.TableSize);
        _frontends = frontends;
        _backends = backends;
        uint maxFrontendId = 0;
        foreach (FrontendEntry f in frontends)
            maxFrontendId = Math.Max(maxFrontendId, f.Id);
        FrontendIdLimit = (int)maxFrontendId + 1;

        int capacity = 16;
        while (capacity < frontends.Length * 2)
            capacity <<= 1;
        _frontendSlots = new int[capacity];
        _frontendMask = capacity - 1;
        for (int i = 0; i < frontends.Length; i++)
        {
            FrontendEntry f = frontends[i];
            int slot = (int)(FrontendHash(f.Vip, f.PortRaw, f.Protocol) & (uint)_frontendMask);
            while (_frontendSlots[slot] != 0)
                slot = (slot + 1) & _frontendMask;
            _frontendSlots[slot] = i + 1;
        }
    }

    /// <summary>An empty snapshot (no frontends): every new flow is unknown_service_port.</summary>
    public static ForwardingSnapshot Empty(MaglevParameters parameters) => new(0, parameters, [], [default], SnapshotPolicy.None);

    public long Revision { get; }

    /// <summary>Compiled L4 policy (SPEC §7); <see cref="PolicyVerdicts.AllowAll"/> unless set.</summary>
    public PolicyVerdicts Policy { get; }
    /// <summary>ip → identity (SPEC §6); empty (everything is world) unless set.</summary>
    public IpCache IpCache { get; }
    /// <summary>Changes whenever <see cref="Policy"/> or <see cref="IpCache"/> changes in a way that
    /// could change a verdict; existing flows re-check on their next packet when it differs from
    /// the revision their ct entry cached.</summary>
    public long PolicyRevision { get; }
    /// <summary>Low 32 bits of <see cref="PolicyRevision"/>, as ct stores it (one int compare per
    /// packet). Two revisions exactly 2^32 apart would look equal: not reachable in practice.</summary>
    internal int PolicyRevisionTag { get; }
    /// <summary>--lb-policy-aware-selection: new flows pick among the backends the client may reach
    /// (per-identity tables, <see cref="FrontendEntry.TableFor"/>). Off by default, as in Cilium.</summary>
    public bool PolicyAwareSelection { get; }
    public MaglevParameters Parameters { get; }
    internal uint LookupSeedV4 { get; }
    internal uint LookupSeedV6 { get; }
    /// <summary>Reduces a lookup hash modulo the Maglev table size without a division.</summary>
    internal FastModulus LookupModulus { get; }

    public int FrontendCount => _frontends.Length;
    public IReadOnlyList<FrontendEntry> Frontends => _frontends;
    /// <summary>Highest frontend id + 1: the size an id-indexed per-frontend array needs.</summary>
    public int FrontendIdLimit { get; }
    /// <summary>Highest id + 1: the size of the id-indexed backend array.</summary>
    public int BackendIdLimit => _backends.Length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint FrontendHash(in NetAddress vip, ushort portRaw, byte protocol)
    {
        uint h = vip.Hash32() ^ ((uint)portRaw * 0x9E3779B1u) ^ ((uint)protocol << 24);
        return h ^ (h >> 15);
    }

    /// <summary>Finds the frontend for a packet's destination VIP, port (raw) and protocol.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FrontendEntry? FindFrontend(in NetAddress vip, ushort portRaw, byte protocol)
    {
        int slot = (int)(FrontendHash(vip, portRaw, protocol) & (uint)_frontendMask);
        int[] slots = _frontendSlots;
        int stored;
        while ((stored = slots[slot]) != 0)
        {
            FrontendEntry f = _frontends[stored - 1];
            if (f.PortRaw == portRaw && f.Protocol == protocol && f.Vip == vip)
                return f;
            slot = (slot + 1) & _frontendMask;
        }
        return null;
    }

    /// <summary>The frontend at <paramref name="index"/> of this snapshot's list (<see cref="FrontendEntry.Index"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal FrontendEntry FrontendAt(int index) => _frontends[index];

    /// <summary>The backend with this id, or a default entry (Status None) when there is none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref readonly BackendEntry Backend(uint id)
    {
        BackendEntry[] backends = _backends;
        if (id < (uint)backends.Length)
            return ref backends[id];
        return ref backends[0];
    }

    /// <summary>
    /// Whether an existing flow's backend may still carry it: the id is active here and still
    /// names the same address and port (ids are stable per ip:port/proto; the address check
    /// makes a wrongly reused id fail safe instead of redirecting live flows).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsBackendLive(uint id, in NetAddress address, ushort portRaw)
    {
        ref readonly BackendEntry b = ref Backend(id);
        return b.Status == BackendStatus.Active && b.PortRaw == portRaw && b.Address == address;
    }
}

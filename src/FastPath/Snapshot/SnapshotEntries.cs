using FastPath.Addressing;

namespace FastPath.Snapshot;

/// <summary>Whether a backend may carry traffic in this snapshot.</summary>
public enum BackendStatus : byte
{
    /// <summary>No backend with this id (id 0, or a gap in the id space).</summary>
    None = 0,
    /// <summary>Receives new flows (when in a Maglev table) and keeps existing ones.</summary>
    Active = 1,
    /// <summary>Gone: its flows stop (dropped with backend_removed) and no new flow goes there.</summary>
    Removed = 2,
}

/// <summary>A backend as the fast path reads it; indexed by backend id.</summary>
public readonly struct BackendEntry
{
    public readonly NetAddress Address;
    /// <summary>Port as it sits in a frame (network order in memory).</summary>
    public readonly ushort PortRaw;
    public readonly byte Protocol;
    public readonly BackendStatus Status;
    /// <summary>Cluster that owns the backend (SPEC §1), for stats and affinity.</summary>
    public readonly ushort ClusterId;
    /// <summary><see cref="Conntrack.CtTable.BackendCheckOf"/> of address and port, computed once here so
    /// an established flow compares it with its ct entry's instead of hashing per packet.</summary>
    internal readonly ushort Check;
    /// <summary>The ipcache identity of <see cref="Address"/> in this snapshot (SPEC §6), looked up
    /// once when the snapshot is built: every new flow's policy verdict and flow event need it.</summary>
    public readonly uint Identity;

    internal BackendEntry(in NetAddress address, ushort portRaw, byte protocol, BackendStatus status, ushort clusterId, uint identity = 0)
    {
        Address = address;
        PortRaw = portRaw;
        Protocol = protocol;
        Status = status;
        ClusterId = clusterId;
        Check = Conntrack.CtTable.BackendCheckOf(in address, portRaw);
        Identity = identity;
    }

    internal BackendEntry WithIdentity(uint identity) => new(in Address, PortRaw, Protocol, Status, ClusterId, identity);

    public ushort Port => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(PortRaw);
}

/// <summary>A frontend (VIP:port/proto) and the Maglev table its new flows are spread with.</summary>
public sealed class FrontendEntry
{
    private static readonly uint[] NoIdentityKeys = new uint[1]; // one empty slot: lookups always miss

    // Policy-aware selection (see ForwardingSnapshot.PolicyAwareSelection): client identity →
    // Maglev table over the backends that identity may reach. Open addressing, load ≤ 0.5,
    // key 0 = empty (identity 0 "unknown" never comes out of the ipcache). Only identities whose
    // allowed subset is a strict, non-empty subset have an entry; the rest use MaglevTable.
    private uint[] _identityKeys = NoIdentityKeys;
    private uint[][] _identityTables = [[]];

    internal FrontendEntry(int index, uint id, in NetAddress vip, ushort portRaw, byte protocol, string ns, string name, uint[] maglevTable)
    {
        Index = index;
        Id = id;
        Vip = vip;
        PortRaw = portRaw;
        Protocol = protocol;
        Namespace = ns;
        Name = name;
        MaglevTable = maglevTable;
    }

    /// <summary>Position in the snapshot's frontend list (events and stats name the frontend by it).</summary>
    public int Index { get; }
    /// <summary>Stable frontend id (1..<see cref="ForwardingSnapshotBuilder.MaxFrontendId"/>): the same
    /// VIP:port/proto keeps it across snapshots, unlike <see cref="Index"/>. Conntrack stores it so
    /// established packets count per frontend without a lookup; `service list` shows it as ID.</summary>
    public uint Id { get; }
    public NetAddress Vip { get; }
    public ushort PortRaw { get; }
    public byte Protocol { get; }
    /// <summary>Service identity; read off the hot path only (stats, listings, later policy compile).</summary>
    public string Namespace { get; }
    public string Name { get; }
    /// <summary>Slot → backend id (0 = none). Length is the table size M; empty when no backend.
    /// Owned by the snapshot: never modified after Build.</summary>
    internal uint[] MaglevTable { get; }
    public int TableSize => MaglevTable.Length;
    public ReadOnlySpan<uint> Table => MaglevTable;

    /// <summary>Number of client identities with their own policy-aware table.</summary>
    public int IdentityTableCount { get; private set; }

    /// <summary>The policy-aware table for <paramref name="clientIdentity"/>, or null when it uses <see cref="Table"/>.</summary>
    public uint[]? IdentityTableOrNull(uint clientIdentity)
    {
        uint[] t = TableFor(clientIdentity);
        return ReferenceEquals(t, MaglevTable) ? null : (uint[])t.Clone();
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int IdentitySlot(uint identity, int mask) => (int)((identity * 0x9E3779B1u) >> 7) & mask;

    /// <summary>The table a new flow from <paramref name="clientIdentity"/> is placed with under policy-aware selection.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal uint[] TableFor(uint clientIdentity)
    {
        uint[] keys = _identityKeys;
        int mask = keys.Length - 1;
        int slot = IdentitySlot(clientIdentity, mask);
        uint k;
        while ((k = keys[slot]) != 0)
        {
            if (k == clientIdentity)
                return _identityTables[slot];
            slot = (slot + 1) & mask;
        }
        return MaglevTable;
    }

    /// <summary>Installs the per-identity tables; only while the snapshot is being built.</summary>
    internal void SetIdentityTables(IReadOnlyDictionary<uint, uint[]> tables)
    {
        if (tables.Count == 0)
            return;
        int capacity = 4;
        while (capacity < tables.Count * 2)
            capacity <<= 1;
        var keys = new uint[capacity];
        var values = new uint[capacity][];
        foreach (var (identity, table) in tables)
        {
            int slot = IdentitySlot(identity, capacity - 1);
            while (keys[slot] != 0)
                slot = (slot + 1) & (capacity - 1);
            keys[slot] = identity;
            values[slot] = table;
        }
        _identityKeys = keys;
        _identityTables = values;
        IdentityTableCount = tables.Count;
    }
}

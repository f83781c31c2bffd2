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

    internal BackendEntry(in NetAddress address, ushort portRaw, byte protocol, BackendStatus status, ushort clusterId)
    {
        Address = address;
        PortRaw = portRaw;
        Protocol = protocol;
        Status = status;
        ClusterId = clusterId;
    }

    public ushort Port => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(PortRaw);
}

/// <summary>A frontend (VIP:port/proto) and the Maglev table its new flows are spread with.</summary>
public sealed class FrontendEntry
{
    internal FrontendEntry(in NetAddress vip, ushort portRaw, byte protocol, string ns, string name, uint[] maglevTable)
    {
        Vip = vip;
        PortRaw = portRaw;
        Protocol = protocol;
        Namespace = ns;
        Name = name;
        MaglevTable = maglevTable;
    }

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
}

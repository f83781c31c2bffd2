using System.Buffers.Binary;
using FastPath.Addressing;
using FastPath.Maglev;
using FastPath.Policy;

namespace FastPath.Snapshot;

/// <summary>
/// Assembles a <see cref="ForwardingSnapshot"/> from control-plane state (off the fast path).
/// Backend ids are chosen by the control plane and must stay the same for the same
/// ip:port/proto across snapshots: conntrack pins flows by id. Build validates everything
/// once and throws <see cref="ArgumentException"/> naming the offending frontend/backend.
/// </summary>
public sealed class ForwardingSnapshotBuilder
{
    /// <summary>Largest backend id accepted: the snapshot keeps an array indexed by id,
    /// so ids must be dense-ish (2^22 ids = 4 M backends, 128 MiB of entries at most).</summary>
    public const uint MaxBackendId = (1u << 22) - 1;
    /// <summary>Largest frontend id accepted: workers keep per-frontend counters in an array indexed
    /// by id (2^20 frontends, 16 MiB of counters per worker at most).</summary>
    public const uint MaxFrontendId = (1u << 20) - 1;

    private readonly MaglevParameters _parameters;
    private readonly Dictionary<uint, BackendEntry> _backends = new();
    private readonly List<FrontendEntry> _frontends = new();
    private readonly HashSet<(NetAddress, ushort, byte)> _frontendKeys = new();
    private readonly HashSet<uint> _frontendIds = new();
    private readonly Dictionary<(NetAddress, ushort, byte), Dictionary<uint, uint[]>> _identityTables = new();
    private SnapshotPolicy _policy = SnapshotPolicy.None;

    /// <param name="tablesAreImmutable">True when the caller promises never to write the table arrays
    /// it passes (the compiler's table cache): they are then shared, not copied, so an unchanged
    /// frontend costs no memory per snapshot.</param>
    public ForwardingSnapshotBuilder(MaglevParameters parameters, bool tablesAreImmutable = false)
    {
        _parameters = parameters ?? throw new ArgumentNullException(nameof(parameters));
        _tablesAreImmutable = tablesAreImmutable;
    }

    private readonly bool _tablesAreImmutable;

    private uint[] Own(uint[] table) => _tablesAreImmutable ? table : (uint[])table.Clone();

    /// <param name="port">Host-order port number.</param>
    public ForwardingSnapshotBuilder AddBackend(uint id, NetAddress address, ushort port, L4Protocol protocol,
        ushort clusterId, BackendStatus status = BackendStatus.Active)
    {
        if (id == 0 || id > MaxBackendId)
            throw new ArgumentException($"backend {address}:{port}/{protocol.ToName()}: id {id} is outside 1..{MaxBackendId} (0 means none)", nameof(id));
        if (protocol is not (L4Protocol.Tcp or L4Protocol.Udp))
            throw new ArgumentException($"backend {id} {address}:{port}: protocol {protocol.ToName()} is not supported by the fast path (TCP or UDP)", nameof(protocol));
        if (status == BackendStatus.None)
            throw new ArgumentException($"backend {id} {address}:{port}: status must be Active or Removed", nameof(status));
        var entry = new BackendEntry(address, BinaryPrimitives.ReverseEndianness(port), (byte)protocol, status, clusterId);
        if (!_backends.TryAdd(id, entry))
            throw new ArgumentException($"backend id {id} added twice ({address}:{port}/{protocol.ToName()})", nameof(id));
        return this;
    }

    /// <param name="port">Host-order port number.</param>
    /// <param name="maglevTable">Slot → backend id (0 = none); copied unless the builder shares immutable tables. Empty when the service has no backend.</param>
    /// <param name="id">Stable frontend id (see <see cref="FrontendEntry.Id"/>); 0 = the frontend's position + 1, fine for
    /// a one-off snapshot, but a control plane that republishes must pass ids that stay with the VIP:port/proto.</param>
    public ForwardingSnapshotBuilder AddFrontend(NetAddress vip, ushort port, L4Protocol protocol, string ns, string name, uint[] maglevTable,
        uint id = 0)
    {
        ArgumentNullException.ThrowIfNull(maglevTable);
        if (protocol is not (L4Protocol.Tcp or L4Protocol.Udp))
            throw new ArgumentException($"frontend {ns}/{name} {vip}:{port}: protocol {protocol.ToName()} is not supported by the fast path (TCP or UDP)", nameof(protocol));
        if (id == 0)
            id = (uint)_frontends.Count + 1;
        if (id > MaxFrontendId)
            throw new ArgumentException($"frontend {ns}/{name} {vip}:{port}: id {id} is outside 1..{MaxFrontendId}", nameof(id));
        ushort portRaw = BinaryPrimitives.ReverseEndianness(port);
        if (!_frontendKeys.Add((vip, portRaw, (byte)protocol)))
            throw new ArgumentException($"frontend {vip}:{port}/{protocol.ToName()} added twice (last by {ns}/{name})", nameof(vip));
        if (!_frontendIds.Add(id))
            throw new ArgumentException($"frontend {ns}/{name} {vip}:{port}/{protocol.ToName()}: id {id} already used by another frontend", nameof(id));
        _frontends.Add(new FrontendEntry(_frontends.Count, id, vip, portRaw, (byte)protocol, ns, name, Own(maglevTable)));
        return this;
    }

    /// <summary>
    /// The policy state new flows are checked against (SPEC §7). Without this call the snapshot
    /// allows everything (AllowAll verdicts, empty ipcache). <paramref name="policyRevision"/> must
    /// change whenever the verdicts or the ipcache change: flows cached as allowed at another
    /// revision re-check on their next packet.
    /// </summary>
    public ForwardingSnapshotBuilder SetPolicy(PolicyVerdicts verdicts, IpCache ipCache, long policyRevision, bool policyAwareSelection = false)
    {
        ArgumentNullException.ThrowIfNull(verdicts);
        ArgumentNullException.ThrowIfNull(ipCache);
        _policy = new SnapshotPolicy(verdicts, ipCache, policyRevision, policyAwareSelection);
        return this;
    }

    /// <summary>
    /// Policy-aware selection: new flows from <paramref name="clientIdentity"/> to this frontend use
    /// <paramref name="maglevTable"/> (built over the backends that identity may reach) instead of the
    /// frontend's table. Used only when the snapshot's policy-aware flag is set. The frontend must have
    /// been added; the table must not be empty (an identity with no allowed backend keeps the full
    /// table, so its flows drop with policy_denied and the direction that denied them).
    /// </summary>
    /// <param name="port">Host-order port number.</param>
    public ForwardingSnapshotBuilder AddIdentityTable(NetAddress vip, ushort port, L4Protocol protocol, uint clientIdentity, uint[] maglevTable)
    {
        ArgumentNullException.ThrowIfNull(maglevTable);
        var key = (vip, BinaryPrimitives.ReverseEndianness(port), (byte)protocol);
        if (!_frontendKeys.Contains(key))
            throw new ArgumentException($"identity table for {vip}:{port}/{protocol.ToName()}: no such frontend was added", nameof(vip));
        if (clientIdentity == 0 || clientIdentity > IdentitySet.MaxIdentity)
            throw new ArgumentException($"identity table for {vip}:{port}/{protocol.ToName()}: identity {clientIdentity} is not a non-zero 24-bit identity", nameof(clientIdentity));
        if (maglevTable.Length == 0)
            throw new ArgumentException($"identity table for {vip}:{port}/{protocol.ToName()} identity {clientIdentity}: empty table", nameof(maglevTable));
        if (!_identityTables.TryGetValue(key, out var tables))
            _identityTables[key] = tables = new Dictionary<uint, uint[]>();
        if (!tables.TryAdd(clientIdentity, Own(maglevTable)))
            throw new ArgumentException($"identity table for {vip}:{port}/{protocol.ToName()} identity {clientIdentity} added twice", nameof(clientIdentity));
        return this;
    }

    public ForwardingSnapshot Build(long revision)
    {
        uint maxId = 0;
        foreach (uint id in _backends.Keys)
            maxId = Math.Max(maxId, id);
        var backends = new BackendEntry[maxId + 1];
        foreach (var (id, entry) in _backends)
            backends[id] = entry.WithIdentity(_policy.IpCache.Lookup(entry.Address));

        // An id checked for one (family, protocol) says nothing about another: one memo each.
        var checkedV4Tcp = new bool[backends.Length];
        var checkedV4Udp = new bool[backends.Length];
        var checkedV6Tcp = new bool[backends.Length];
        var checkedV6Udp = new bool[backends.Length];
        foreach (FrontendEntry f in _frontends)
        {
            ValidateTable(f, f.MaglevTable, backends, PerFamilyAndProtocol(f, checkedV4Tcp, checkedV4Udp, checkedV6Tcp, checkedV6Udp));
            if (_identityTables.TryGetValue((f.Vip, f.PortRaw, f.Protocol), out var tables))
            {
                foreach (uint[] table in tables.Values)
                    ValidateTable(f, table, backends, PerFamilyAndProtocol(f, checkedV4Tcp, checkedV4Udp, checkedV6Tcp, checkedV6Udp));
                f.SetIdentityTables(tables);
            }
        }
        return new ForwardingSnapshot(revision, _parameters, _frontends.ToArray(), backends, _policy);
    }

    /// <summary>
    /// Every id a table names must be an added, active backend of the VIP's family and protocol.
    /// Each id is checked once per build (<paramref name="checkedIds"/>): a table has M slots but
    /// only a few distinct ids, and a compile of 1,000 frontends must not cost 16 M checks.
    /// </summary>
    private static void ValidateTable(FrontendEntry f, uint[] table, BackendEntry[] backends, bool[] checkedIds)
    {
        foreach (uint id in table)
        {
            if (id == 0 || (id < checkedIds.Length && checkedIds[id]))
                continue;
            if (id >= backends.Length || backends[id].Status == BackendStatus.None)
                throw new ArgumentException($"{Where(f)}: Maglev table names backend id {id}, which was not added");
            BackendEntry b = backends[id];
            if (b.Status != BackendStatus.Active)
                throw new ArgumentException($"{Where(f)}: Maglev table names backend id {id} ({b.Address}), which is not active");
            if (b.Address.IsV4 != f.Vip.IsV4)
                throw new ArgumentException($"{Where(f)}: backend id {id} ({b.Address}) is another address family than the VIP (no NAT46/64)");
            if (b.Protocol != f.Protocol)
                throw new ArgumentException($"{Where(f)}: backend id {id} ({b.Address}) has protocol {b.Protocol}, the frontend {f.Protocol}");
            checkedIds[id] = true;
        }
    }

    private static bool[] PerFamilyAndProtocol(FrontendEntry f, bool[] v4Tcp, bool[] v4Udp, bool[] v6Tcp, bool[] v6Udp) =>
        (f.Vip.IsV4, f.Protocol == (byte)L4Protocol.Tcp) switch
        {
            (true, true) => v4Tcp,
            (true, false) => v4Udp,
            (false, true) => v6Tcp,
            (false, false) => v6Udp,
        };

    private static string Where(FrontendEntry f) =>
        $"frontend {f.Namespace}/{f.Name} {f.Vip}:{BinaryPrimitives.ReverseEndianness(f.PortRaw)}";
}

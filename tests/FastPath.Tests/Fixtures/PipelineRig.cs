using FastPath.Addressing;
using FastPath.Conntrack;
using FastPath.Maglev;
using FastPath.NextHop;
using FastPath.Pipeline;
using FastPath.Policy;
using FastPath.Snapshot;

namespace FastPath.Tests.Fixtures;

/// <summary>
/// A pipeline with a small world around it, no kernel involved:
///
///   client 10.0.0.1 / fd00::1 ──(slot 0)── [FastPath, VIP 10.96.0.10:80 / fd00:96::10:80] ──(slot 1)── backends
///   client MAC 02:..:01, our MAC on slot 0 02:..:fe           our MAC on slot 1 02:..:f1, backend MACs 02:..:b1/b2/b6
///
/// Backends: id 1 = 10.244.1.1:8080, id 2 = 10.244.2.2:8080, id 6 = [fd00:244::6]:8080 (all TCP);
/// UDP twins id 11, 12 for port 53. Tests build snapshots whose Maglev tables hold one backend
/// id in every slot when the result must not depend on the hash.
/// </summary>
public sealed class PipelineRig
{
    public const int ClientSlot = 0;
    public const int BackendSlot = 1;
    public static readonly NetAddress Vip4 = NetAddress.Parse("10.96.0.10");
    public static readonly NetAddress Vip6 = NetAddress.Parse("fd00:96::10");
    public static readonly NetAddress Backend1 = NetAddress.Parse("10.244.1.1");
    public static readonly NetAddress Backend2 = NetAddress.Parse("10.244.2.2");
    public static readonly NetAddress Backend6 = NetAddress.Parse("fd00:244::6");
    public static readonly MacAddress ClientMac = MacAddress.Parse("02:00:00:00:00:01");
    public static readonly MacAddress OurClientSideMac = MacAddress.Parse("02:00:00:00:00:fe");
    public static readonly MacAddress OurBackendSideMac = MacAddress.Parse("02:00:00:00:00:f1");
    public static readonly MacAddress Backend1Mac = MacAddress.Parse("02:00:00:00:00:b1");
    public static readonly MacAddress Backend2Mac = MacAddress.Parse("02:00:00:00:00:b2");
    public static readonly MacAddress Backend6Mac = MacAddress.Parse("02:00:00:00:00:b6");
    public const int TableSize = 251;

    public CtTable Ct { get; }
    public PacketPipeline Pipeline { get; }
    public NextHopTable NextHops { get; set; }
    public long NowMs { get; set; } = 1_000_000;

    public PipelineRig(int ctCapacity = 1 << 12, bool singleInserter = false)
    {
        Ct = new CtTable(ctCapacity, hashSeed: 42, singleInserter: singleInserter);
        Pipeline = new PacketPipeline(Ct);
        NextHops = new NextHopTable(new Dictionary<NetAddress, NextHop.NextHop>
        {
            [Backend1] = new(BackendSlot, OurBackendSideMac, Backend1Mac),
            [Backend2] = new(BackendSlot, OurBackendSideMac, Backend2Mac),
            [Backend6] = new(BackendSlot, OurBackendSideMac, Backend6Mac),
        });
    }

    public static uint[] AllSlots(uint backendId) => Enumerable.Repeat(backendId, TableSize).ToArray();

    /// <summary>Snapshot with TCP frontends VIP4:80 and VIP6:80 (and UDP VIP4:53) over the given tables.</summary>
    /// <param name="policy">Verdicts, ipcache and policy revision; null = no policy (everything allowed).</param>
    public static ForwardingSnapshot BuildSnapshot(long revision, uint[] v4Table, uint[]? v6Table = null, uint[]? udpTable = null,
        BackendStatus backend1 = BackendStatus.Active, BackendStatus backend2 = BackendStatus.Active, bool includeBackend1 = true,
        (PolicyVerdicts Verdicts, IpCache IpCache, long Revision)? policy = null)
    {
        var b = new ForwardingSnapshotBuilder(MaglevParameters.Default);
        if (includeBackend1)
            b.AddBackend(1, Backend1, 8080, L4Protocol.Tcp, clusterId: 1, backend1);
        b.AddBackend(2, Backend2, 8080, L4Protocol.Tcp, clusterId: 2, backend2);
        b.AddBackend(6, Backend6, 8080, L4Protocol.Tcp, clusterId: 1);
        b.AddBackend(11, Backend1, 53, L4Protocol.Udp, clusterId: 1);
        b.AddBackend(12, Backend2, 53, L4Protocol.Udp, clusterId: 2);
        b.AddFrontend(Vip4, 80, L4Protocol.Tcp, "default", "web", v4Table);
        b.AddFrontend(Vip6, 80, L4Protocol.Tcp, "default", "web6", v6Table ?? AllSlots(6));
        b.AddFrontend(Vip4, 53, L4Protocol.Udp, "kube-system", "dns", udpTable ?? AllSlots(11));
        if (policy is { } p)
            b.SetPolicy(p.Verdicts, p.IpCache, p.Revision);
        return b.Build(revision);
    }

    /// <summary>Client → VIP frame as it arrives on the client-side device.</summary>
    public static FrameSpec ToVip(int clientPort = 40000, byte flags = Packets.TcpFlags.Syn, bool v6 = false, string? client = null) => new()
    {
        Source = client ?? (v6 ? "fd00::1" : "10.0.0.1"),
        Destination = v6 ? "fd00:96::10" : "10.96.0.10",
        SourcePort = (ushort)clientPort,
        DestinationPort = 80,
        TcpFlags = flags,
        PayloadLength = 12,
        SourceMac = ClientMac,
        DestinationMac = OurClientSideMac,
    };

    /// <summary>Backend → client reply as it arrives on the backend-side device.</summary>
    public static FrameSpec FromBackend(NetAddress backend, int clientPort = 40000, byte flags = Packets.TcpFlags.Syn | Packets.TcpFlags.Ack, string? client = null) => new()
    {
        Source = backend.ToString(),
        Destination = client ?? (backend.IsV4 ? "10.0.0.1" : "fd00::1"),
        SourcePort = 8080,
        DestinationPort = (ushort)clientPort,
        TcpFlags = flags,
        PayloadLength = 20,
        SourceMac = backend == Backend1 ? Backend1Mac : backend == Backend2 ? Backend2Mac : Backend6Mac,
        DestinationMac = OurBackendSideMac,
    };

    public PacketResult Run(ForwardingSnapshot snapshot, byte[] frame, int ingressSlot)
    {
        Pipeline.BeginBatch(snapshot, NextHops, NowMs);
        return Pipeline.Process(frame, ingressSlot);
    }
}

using System.Net;

namespace Datapath.Tests.Infrastructure;

/// <summary>
/// A node running the agent between one client pod and N backend pods, wired like a CNI does it
/// (a veth per pod, /32 addresses, /32 routes on the node, a per-link gateway address):
/// <code>
///   client netns (fpc-xxxxxx)               node netns (fpn-xxxxxx): the agent, XDP on every link
///   eth0 10.244.1.10/32  ◄══ veth ══►  c{id}   10.244.0.1/32   route 10.244.1.10/32
///     default via 10.244.0.1                b{id}0  10.244.0.2/32   route 10.244.2.1/32  ◄══ veth ══►  backend 0: eth0 10.244.2.1/32
///                                           b{id}1  10.244.0.3/32   route 10.244.2.2/32  ◄══ veth ══►  backend 1: eth0 10.244.2.2/32
///                                           ...                                                        (default via its gateway)
///   VIP 10.96.0.10 belongs to no interface: only the agent answers for it.
/// </code>
/// The pods' eth0 have TX checksum offload off: veth would otherwise hand XDP packets whose
/// L4 checksum is only the pseudo-header sum (CHECKSUM_PARTIAL), which a physical NIC never
/// delivers. Every name carries a per-run id; Dispose deletes every namespace (and with them
/// the veths and XDP attachments) even after a failed test.
/// </summary>
public sealed class ServiceTopology : IDisposable
{
    public static readonly IPAddress Vip = IPAddress.Parse("10.96.0.10");
    public static readonly IPAddress ClientAddress = IPAddress.Parse("10.244.1.10");

    private readonly List<IDisposable> _owned = new();

    public string Id { get; }
    public NetNs Node { get; }
    public NetNs Client { get; }
    public IReadOnlyList<NetNs> Backends { get; }
    public string ClientLink => $"c{Id}";
    public string BackendLinkPrefix => $"b{Id}";
    public string AgentDevices => $"{ClientLink},{BackendLinkPrefix}+";

    public static IPAddress BackendAddress(int index) => IPAddress.Parse($"10.244.2.{index + 1}");

    private ServiceTopology(string id, NetNs node, NetNs client, IReadOnlyList<NetNs> backends)
    {
        Id = id;
        Node = node;
        Client = client;
        Backends = backends;
    }

    public static ServiceTopology Create(int backendCount)
    {
        string id = Guid.NewGuid().ToString("N")[..6];
        var created = new List<IDisposable>();
        try
        {
            var node = Track(created, NetNs.Create("fpn"));
            var client = Track(created, NetNs.Create("fpc"));
            var backends = new List<NetNs>();
            for (int i = 0; i < backendCount; i++)
                backends.Add(Track(created, NetNs.Create($"fpb{i}")));

            node.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1");
            WirePod(node, $"c{id}", "10.244.0.1", client, ClientAddress.ToString());
            for (int i = 0; i < backendCount; i++)
                WirePod(node, $"b{id}{i}", $"10.244.0.{i + 2}", backends[i], BackendAddress(i).ToString());

            var topology = new ServiceTopology(id, node, client, backends);
            topology._owned.AddRange(created);
            return topology;
        }
        catch
        {
            foreach (var item in Enumerable.Reverse(created))
                item.Dispose();
            throw;
        }
    }

    private static T Track<T>(List<IDisposable> list, T item) where T : IDisposable
    {
        list.Add(item);
        return item;
    }

    private static void WirePod(NetNs node, string nodeLink, string gateway, NetNs pod, string podAddress)
    {
        VethPair.Create(node, nodeLink, pod, "eth0");
        node.Exec("ip", "addr", "add", $"{gateway}/32", "dev", nodeLink);
        node.Exec("ip", "route", "add", $"{podAddress}/32", "dev", nodeLink);
        pod.Exec("ip", "addr", "add", $"{podAddress}/32", "dev", "eth0");
        pod.Exec("ip", "route", "add", $"{gateway}/32", "dev", "eth0");
        pod.Exec("ip", "route", "add", "default", "via", gateway, "dev", "eth0");
        pod.Exec("ethtool", "-K", "eth0", "tx", "off");
    }

    /// <summary>A services file for the agent: TCP 80 → 8080 and UDP 53 → 5353 on the listed backends.</summary>
    public string ServicesYaml(IEnumerable<int> backendIndexes)
    {
        var lines = new List<string>
        {
            "services:",
            "  - namespace: default",
            "    name: echo",
            $"    vip: {Vip}",
            "    ports:",
            "      - { name: http, protocol: TCP, port: 80, targetPort: 8080 }",
            "      - { name: dns, protocol: UDP, port: 53, targetPort: 5353 }",
            "    backends:",
        };
        lines.AddRange(backendIndexes.Select(i => $"      - {{ address: {BackendAddress(i)} }}"));
        return string.Join('\n', lines) + "\n";
    }

    public void Dispose()
    {
        foreach (var item in Enumerable.Reverse(_owned))
            item.Dispose();
    }
}

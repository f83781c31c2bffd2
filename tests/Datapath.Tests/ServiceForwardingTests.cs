using System.Net;
using System.Net.Sockets;
using System.Text;
using Datapath.Tests.Infrastructure;

namespace Datapath.Tests;

/// <summary>
/// The agent forwarding real TCP and UDP flows between pods over veth (topology drawn in
/// <see cref="ServiceTopology"/>): three backends behind VIP 10.96.0.10 (TCP 80 → 8080,
/// UDP 53 → 5353). One agent serves every test of this class.
/// Tests: 300 TCP connections each answered by a backend, spread fairly, client sees the VIP and
/// the backend sees the client's own address; UDP request/response through the VIP; traffic not
/// for the VIP (ping to a backend, ARP) still handled by the node's kernel with XDP attached.
/// </summary>
public sealed class ServiceForwardingTests : IClassFixture<ServiceForwardingTests.Fixture>
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);
    private readonly Fixture _fixture;

    public ServiceForwardingTests(Fixture fixture) => _fixture = fixture;

    public sealed class Fixture : IDisposable
    {
        public const int BackendCount = 3;
        private readonly StandaloneAgent _setup = new(BackendCount,
            topology => topology.ServicesYaml(Enumerable.Range(0, BackendCount)), "published snapshot revision 1");

        public ServiceTopology Topology => _setup.Topology;
        public AgentProcess Agent => _setup.Agent;

        public void Dispose() => _setup.Dispose();
    }

    [Fact]
    public void Three_hundred_tcp_connections_are_each_answered_by_a_backend_spread_within_half_of_fair()
    {
        const int connections = 300;
        var perBackend = new Dictionary<string, int>();
        var vip = new IPEndPoint(ServiceTopology.Vip, 80);
        var failures = new List<string>();

        // Eight dedicated threads, not Parallel.For: PodClient blocks on socket tasks, and blocking
        // thread-pool threads starves the pool of the threads those completions run on (connects
        // then "time out" with every packet forwarded).
        ForEachOnOwnThreads(connections, threads: 8, i =>
        {
            try
            {
                using var client = PodClient.Connect(_fixture.Topology.Client, vip, Step);
                var reply = client.Ask($"conn-{i}", Step);
                lock (perBackend)
                {
                    if (reply is not { } r)
                    {
                        failures.Add($"conn-{i}: no answer");
                        return;
                    }
                    // The client's peer is the VIP, never a backend address.
                    if (!vip.Equals(client.RemoteEndPoint))
                        failures.Add($"conn-{i}: peer {client.RemoteEndPoint}");
                    // The backend saw the client's real address and port (DNAT only, no SNAT).
                    if (r.ClientEndpoint != client.LocalEndPoint!.ToString())
                        failures.Add($"conn-{i}: backend saw {r.ClientEndpoint}, client is {client.LocalEndPoint}");
                    if (r.Sequence != $"conn-{i}")
                        failures.Add($"conn-{i}: answer for {r.Sequence}");
                    perBackend[r.Backend] = perBackend.GetValueOrDefault(r.Backend) + 1;
                }
            }
            catch (Exception e)
            {
                lock (perBackend)
                    failures.Add($"conn-{i}: {e.GetType().Name} {e.Message}");
            }
        });

        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)) + "\nagent drops: " + DropCounters() + "\nagent log:\n" + _fixture.Agent.Log);
        double fair = connections / (double)Fixture.BackendCount;
        Assert.Equal(Fixture.BackendCount, perBackend.Count);
        foreach (var (backend, count) in perBackend)
            Assert.InRange(count, fair * 0.5, fair * 1.5);
    }

    private static void ForEachOnOwnThreads(int count, int threads, Action<int> body)
    {
        int next = -1;
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            for (int i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
                body(i);
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
    }

    /// <summary>Non-zero drop and ring counters of the agent, for failure messages.</summary>
    private string DropCounters()
    {
        try
        {
            var metrics = AgentStats.Metrics(_fixture.Topology.Node);
            return string.Join(", ", metrics.Samples
                .Where(s => s.Value != 0 && (s.Name.Contains("drop") || s.Name.Contains("steer") || s.Name.Contains("worker") || s.Name.Contains("xsk") || s.Name.Contains("pipeline") || s.Name.Contains("new_flows")))
                .Select(s => $"{s.Name}{{{string.Join(",", s.Labels.Select(l => $"{l.Key}={l.Value}"))}}}={s.Value}"));
        }
        catch (Exception e)
        {
            return $"(metrics unavailable: {e.Message})";
        }
    }

    [Fact]
    public void Udp_requests_to_the_vip_are_answered_from_the_vip_by_a_backend_that_saw_the_client()
    {
        var vip = new IPEndPoint(ServiceTopology.Vip, 53);
        var seen = new HashSet<string>();
        for (int i = 0; i < 60; i++)
        {
            using var socket = _fixture.Topology.Client.RunInside(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
            socket.Bind(new IPEndPoint(IPAddress.Any, 0));
            socket.SendTo(Encoding.ASCII.GetBytes($"udp-{i}"), vip);
            var buffer = new byte[1500];
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            socket.ReceiveTimeout = (int)Step.TotalMilliseconds;
            int n = socket.ReceiveFrom(buffer, ref from);
            var reply = PodReply.Parse(Encoding.ASCII.GetString(buffer, 0, n));

            Assert.Equal(vip, from);
            Assert.Equal($"udp-{i}", reply.Sequence);
            Assert.Equal(((IPEndPoint)socket.LocalEndPoint!).Port.ToString(), reply.ClientEndpoint.Split(':')[1]);
            Assert.Equal(ServiceTopology.ClientAddress.ToString(), reply.ClientAddress);
            seen.Add(reply.Backend);
        }
        // 60 flows over 3 backends: all three answer (chance of missing one is about 3·(2/3)^60).
        Assert.Equal(Fixture.BackendCount, seen.Count);
    }

    [Fact]
    public void Traffic_not_for_a_vip_still_reaches_the_kernel_with_xdp_attached()
    {
        // ICMP through the node's kernel router: client → backend 0 and back.
        int ping = _fixture.Topology.Client.TryExec(TimeSpan.FromSeconds(10),
            "ping", "-c", "2", "-W", "2", ServiceTopology.BackendAddress(0).ToString());
        Assert.Equal(0, ping);

        // ARP: the client resolved its gateway through the XDP-attached link.
        string neighbours = _fixture.Topology.Client.Exec("ip", "neigh", "show", "10.244.0.1");
        Assert.Matches("lladdr [0-9a-f:]{17}", neighbours);

        // And the node's link really runs XDP (not just the kernel path).
        string link = _fixture.Topology.Node.Exec("ip", "-d", "link", "show", _fixture.Topology.ClientLink);
        Assert.Contains("xdp", link);
    }
}

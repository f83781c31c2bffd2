using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Datapath.Tests.Infrastructure;
using FastPath.Runtime;
using Xunit.Abstractions;

namespace Datapath.Tests;

/// <summary>
/// A flow's first packet to a backend whose neighbour is not resolved: the agent holds the SYN
/// until the kernel's ARP gets its answer and sends it then, so the connection opens at once
/// instead of after the client's one-second SYN retransmission (as with bpf_redirect_neigh, whose
/// packet waits in the kernel's neighbour queue).
/// The backend pod answers no ARP (arp_ignore 8) until the agent holds the SYN, so the agent's
/// resolver, which asks for every backend when a snapshot is published, cannot know it before.
/// The node solicits every 50 ms (retrans_time_ms), so an answer comes soon after ARP is back.
/// The steps in between run in this process (the metrics read over a socket in the node's netns,
/// the sysctl written from a thread in the pod's): spawning `ip netns exec` can take a second on
/// this VM.
/// Proof: a held frame leaves the wait queue only sent (released) or dropped as no_neighbour, so
/// every held frame released and none dropped means the first SYN went out; the connection opening
/// before a held frame's time is up (<see cref="QueueWorker.NeighbourHoldMs"/>, counted from
/// before the connect) means it went out because the neighbour answered, not because its hold ran
/// out. The times are written to the test output.
/// </summary>
public sealed class NeighbourHoldTests(ITestOutputHelper output)
{
    private static readonly TimeSpan HoldLimit = TimeSpan.FromMilliseconds(QueueWorker.NeighbourHoldMs);
    // Well within the hold limit, so the neighbour can answer before it.
    private static readonly TimeSpan HoldSeenWithin = TimeSpan.FromSeconds(2);

    [Fact]
    public void The_first_syn_to_an_unresolved_backend_is_held_and_sent_once_the_neighbour_answers()
    {
        using var setup = new StandaloneAgent(1, topology => topology.ServicesYaml([0]), "published snapshot revision 1",
            beforeAgent: topology =>
            {
                SetArpReplies(topology.Backends[0], answer: false);
                topology.Node.Exec("sysctl", "-qw", $"net.ipv4.neigh.{topology.BackendLinkPrefix}0.retrans_time_ms=50");
            });
        var topology = setup.Topology;
        HeldFrames(topology.Node); // the endpoint's first answer is slow; the polls below must not be

        var clock = Stopwatch.StartNew();
        // Its own thread, not the thread pool's: a pool thread can take most of a second to come.
        PodClient? connected = null;
        Exception? connectFailure = null;
        TimeSpan opened = TimeSpan.Zero;
        var connecting = new Thread(() =>
        {
            try
            {
                connected = PodClient.Connect(topology.Client, new IPEndPoint(ServiceTopology.Vip, 80), TimeSpan.FromSeconds(10));
                opened = clock.Elapsed;
            }
            catch (Exception e)
            {
                connectFailure = e;
            }
        });
        connecting.Start();
        bool held = WaitUntil(() => HeldFrames(topology.Node) >= 1, HoldSeenWithin);
        TimeSpan heldSeen = clock.Elapsed;
        SetArpReplies(topology.Backends[0], answer: true);
        TimeSpan answering = clock.Elapsed;

        connecting.Join();
        string timing = $"hold seen after {heldSeen.TotalMilliseconds:F0} ms, ARP answered from {answering.TotalMilliseconds:F0} ms, connection open after {opened.TotalMilliseconds:F0} ms";
        output.WriteLine(timing);
        if (connectFailure is not null)
            throw new InvalidOperationException($"connect through the VIP failed ({timing})\nagent log:\n{setup.Agent.Log}", connectFailure);
        using var client = connected!;
        var reply = client.Ask("held", TimeSpan.FromSeconds(5));

        var metrics = AgentStats.Metrics(topology.Node);
        string context = $"\n{timing}\nnode neighbours: {topology.Node.Exec("ip", "neigh", "show")}\nagent log:\n{setup.Agent.Log}";
        Assert.True(held, $"the agent held no frame within {HoldSeenWithin.TotalSeconds:0} s" + context);
        Assert.True(opened < HoldLimit, "the SYN went out only when its hold ran out" + context);
        Assert.Equal("backend-0", reply?.Backend);
        double heldFrames = Sum(metrics, "fastpath_worker_neighbour_held_total");
        Assert.True(Sum(metrics, "fastpath_worker_neighbour_released_total") == heldFrames,
            $"of {heldFrames} held frames not all were released" + context);
        Assert.Equal(0, metrics.Value("fastpath_drops_total", ("reason", "no_neighbour")));
    }

    /// <summary>arp_ignore 8 answers no ARP request; 0 answers as usual (the pod still asks for its gateway either way).</summary>
    private static void SetArpReplies(NetNs pod, bool answer) =>
        pod.RunInside(() =>
        {
            // /proc/sys/net is the namespace of the thread that opens it.
            File.WriteAllText("/proc/sys/net/ipv4/conf/eth0/arp_ignore", answer ? "0" : "8");
            return 0;
        });

    /// <summary>fastpath_worker_neighbour_held_total, summed over queues, read over a socket opened in the agent's netns.</summary>
    private static double HeldFrames(NetNs agentNetns)
    {
        using var socket = agentNetns.RunInside(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        socket.ReceiveTimeout = socket.SendTimeout = 5000;
        socket.Connect(IPEndPoint.Parse(AgentStats.DefaultAddress));
        socket.Send(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n"));
        using var response = new MemoryStream();
        var buffer = new byte[16384];
        for (int n; (n = socket.Receive(buffer)) > 0;)
            response.Write(buffer, 0, n);
        string text = Encoding.UTF8.GetString(response.ToArray());
        int body = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (!text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) || body < 0)
            throw new InvalidOperationException($"GET /metrics in netns {agentNetns.Name}: {text[..Math.Min(text.Length, 200)]}");
        return Sum(PrometheusText.Parse(text[(body + 4)..]), "fastpath_worker_neighbour_held_total");
    }

    private static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (condition())
                return true;
            Thread.Sleep(10);
        }
        return condition();
    }

    private static double Sum(PrometheusText metrics, string name) =>
        metrics.Samples.Where(s => s.Name == name).Sum(s => s.Value);
}

using System.Diagnostics;
using System.Net;
using Datapath.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Datapath.Tests;

/// <summary>
/// A flow's first packet to a backend whose neighbour is not resolved: the agent holds the SYN
/// until the kernel's ARP gets its answer and sends it then, so the connection opens at once
/// instead of after the client's one-second SYN retransmission (as with bpf_redirect_neigh, whose
/// packet waits in the kernel's neighbour queue).
/// The backend pod answers no ARP (`arp off`) until the agent holds the SYN, so the agent's
/// resolver, which asks for every backend when a snapshot is published, cannot know it before.
/// </summary>
public sealed class NeighbourHoldTests(ITestOutputHelper output)
{
    // The client retransmits an unanswered SYN after 1 s: a connection open sooner went out with the first.
    private static readonly TimeSpan FirstSynRetransmission = TimeSpan.FromSeconds(1);

    [Fact]
    public void The_first_syn_to_an_unresolved_backend_is_held_and_the_connection_opens_before_its_retransmission()
    {
        using var setup = new StandaloneAgent(1, topology => topology.ServicesYaml([0]), "published snapshot revision 1",
            beforeAgent: topology => topology.Backends[0].Exec("ip", "link", "set", "eth0", "arp", "off"));
        var topology = setup.Topology;
        AgentStats.Metrics(topology.Node); // the endpoint's first answer is slow; the polls below must not be

        var clock = Stopwatch.StartNew();
        // Its own thread, not the thread pool's: a pool thread can take most of a second to come.
        PodClient? connected = null;
        Exception? connectFailure = null;
        TimeSpan opened = TimeSpan.Zero;
        var connecting = new Thread(() =>
        {
            try
            {
                connected = PodClient.Connect(topology.Client, new IPEndPoint(ServiceTopology.Vip, 80), TimeSpan.FromSeconds(3));
                opened = clock.Elapsed;
            }
            catch (Exception e)
            {
                connectFailure = e;
            }
        });
        connecting.Start();
        bool held = WaitUntil(() => Sum(AgentStats.Metrics(topology.Node), "fastpath_worker_neighbour_held_total") >= 1, FirstSynRetransmission / 2);
        TimeSpan heldSeen = clock.Elapsed;
        // Now let the backend answer, and make the node's kernel forget its unanswered entry (it
        // would solicit again only a second after its last try), as for a pod never seen before.
        topology.Backends[0].Exec("ip", "link", "set", "eth0", "arp", "on");
        topology.Node.Exec("ip", "neigh", "flush", "to", ServiceTopology.BackendAddress(0).ToString());

        connecting.Join();
        string timing = $"hold seen after {heldSeen.TotalMilliseconds:F0} ms, connection open after {opened.TotalMilliseconds:F0} ms";
        output.WriteLine(timing);
        if (connectFailure is not null)
            throw new InvalidOperationException($"connect through the VIP failed ({timing})\nagent log:\n{setup.Agent.Log}", connectFailure);
        using var client = connected!;
        var reply = client.Ask("held", TimeSpan.FromSeconds(5));

        var metrics = AgentStats.Metrics(topology.Node);
        string context = $"\n{timing}\nnode neighbours: {topology.Node.Exec("ip", "neigh", "show")}\nagent log:\n{setup.Agent.Log}";
        Assert.True(held, "the agent held no frame within half a second" + context);
        Assert.True(opened < FirstSynRetransmission, "the connection waited for the SYN retransmission" + context);
        Assert.Equal("backend-0", reply?.Backend);
        Assert.True(Sum(metrics, "fastpath_worker_neighbour_released_total") >= 1, "no held frame was released" + context);
        Assert.Equal(0, metrics.Value("fastpath_drops_total", ("reason", "no_neighbour")));
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

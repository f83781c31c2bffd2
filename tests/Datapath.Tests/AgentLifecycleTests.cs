using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Datapath.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Datapath.Tests;

/// <summary>
/// The agent's life cycle in a pod: SIGTERM tears everything down, and a restart with the same
/// flags picks established connections up again on the same backends. Topology: see
/// <see cref="ServiceTopology"/> (one client pod, three backend pods, the agent on the node).
/// <code>
///   client ──► c{id} ─XDP─► agent ─► b{id}0..2 ──► backend-0..2 (echo servers: "backend=NAME seq=N")
/// </code>
/// Tests:
///  1. SIGTERM → exit 0 within a few seconds; no XDP program left on any device, the pin
///     directory removed, no AF_XDP socket left in the node's netns
///     (the kernel's count in /proc/net/protocols).
///  2. Long-lived TCP connections through the VIP survive SIGTERM + restart: every connection
///     sends a line while the agent is down (the kernel drops it: no XDP, no route to the VIP),
///     TCP retransmits, and the restarted agent — whose ct table starts empty — turns the
///     retransmission into a new flow on the same Maglev backend. The gap is printed.
///  3. SIGKILL (no clean-up runs): XDP is attached through BPF links owned by the process, so the
///     kernel detaches it with the process; a new agent starts at once and forwards.
/// </summary>
public sealed partial class AgentLifecycleTests
{
    private const int Backends = 3;
    private const int Connections = 12;
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);
    private static readonly IPEndPoint Vip = new(ServiceTopology.Vip, 80);
    private readonly ITestOutputHelper _output;

    public AgentLifecycleTests(ITestOutputHelper output) => _output = output;

    [GeneratedRegex(@"\bxdp(generic|drv|offload)?\b|prog/xdp")]
    private static partial Regex XdpAttached();

    /// <summary>The topology, pod servers and services file; agents are started by the test.</summary>
    private sealed class Setup : IDisposable
    {
        private readonly List<PodServers> _servers = new();

        public ServiceTopology Topology { get; } = ServiceTopology.Create(Backends);
        public string ServicesFile { get; }
        public string PinDirectory => $"/sys/fs/bpf/fastpath-{Topology.Id}";

        public Setup()
        {
            ServicesFile = Path.Combine(Path.GetTempPath(), $"fastpath-lifecycle-{Topology.Id}.yaml");
            try
            {
                for (int i = 0; i < Backends; i++)
                    _servers.Add(PodServers.Start(Topology.Backends[i], $"backend-{i}"));
                File.WriteAllText(ServicesFile, Topology.ServicesYaml(Enumerable.Range(0, Backends)));
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public AgentProcess StartAgent()
        {
            var agent = AgentProcess.Start(Topology.Node,
                "--devices", Topology.AgentDevices, "--services", ServicesFile,
                "--xdp-mode", "native", "--bpf-pin-dir", PinDirectory);
            try
            {
                agent.WaitForLog("published snapshot revision 1", Step);
                return agent;
            }
            catch
            {
                agent.Dispose();
                throw;
            }
        }

        public IEnumerable<string> Devices =>
            new[] { Topology.ClientLink }.Concat(Enumerable.Range(0, Backends).Select(i => $"{Topology.BackendLinkPrefix}{i}"));

        public void Dispose()
        {
            foreach (var server in _servers)
                server.Dispose();
            Topology.Dispose();
            File.Delete(ServicesFile);
        }
    }

    [Fact]
    public void Sigterm_detaches_xdp_removes_the_pin_directory_and_closes_every_af_xdp_socket()
    {
        using var setup = new Setup();
        using var agent = setup.StartAgent();
        using var client = PodClient.Connect(setup.Topology.Client, Vip, Step);
        Assert.NotNull(client.Ask("before", Step));

        // The agent mounted its own bpffs inside `ip netns exec`'s mount namespace: hold that
        // namespace open so its pins can still be inspected after the agent has exited.
        using var mountNs = File.OpenHandle($"/proc/{agent.Pid}/ns/mnt");
        string InAgentMounts(params string[] command) =>
            Shell.Run("nsenter", [$"--mount=/proc/{Environment.ProcessId}/fd/{mountNs.DangerousGetHandle()}", "--", .. command]);

        // Before: the checks below can see what they look for.
        foreach (string device in setup.Devices)
            Assert.Matches(XdpAttached(), setup.Topology.Node.Exec("ip", "-d", "link", "show", "dev", device));
        Assert.Contains("fp_flows", InAgentMounts("ls", setup.PinDirectory));
        int socketsBefore = XdpSocketCount(setup.Topology.Node);
        Assert.True(socketsBefore >= setup.Devices.Count(), $"expected an AF_XDP socket per device queue, ss shows {socketsBefore}");

        var clock = Stopwatch.StartNew();
        int exit = agent.Stop(StopTimeout);
        _output.WriteLine($"SIGTERM → exit {exit} in {clock.ElapsedMilliseconds} ms; {socketsBefore} AF_XDP sockets before");
        Assert.True(exit == 0, $"agent exited with {exit} (-1 = killed after {StopTimeout.TotalSeconds} s); log:\n{agent.Log}");
        Assert.Contains("stopping: detaching XDP, closing sockets, unpinning maps", agent.Log);

        foreach (string device in setup.Devices)
            Assert.DoesNotMatch(XdpAttached(), setup.Topology.Node.Exec("ip", "-d", "link", "show", "dev", device));
        string pins = InAgentMounts("ls", "-a", "/sys/fs/bpf");
        Assert.DoesNotContain(Path.GetFileName(setup.PinDirectory), pins);
        Assert.Equal(0, XdpSocketCount(setup.Topology.Node));
    }

    [Fact]
    public void Established_connections_resume_on_the_same_backend_after_a_restart()
    {
        using var setup = new Setup();
        var clients = new List<PodClient>();
        AgentProcess? agent = setup.StartAgent();
        try
        {
            var backendOf = new List<string>();
            for (int i = 0; i < Connections; i++)
            {
                var client = PodClient.Connect(setup.Topology.Client, Vip, Step);
                clients.Add(client);
                var reply = client.Ask($"open-{i}", Step) ?? throw new InvalidOperationException($"connection {i}: no answer; log:\n{agent.Log}");
                backendOf.Add(reply.Backend);
            }
            Assert.True(backendOf.Distinct().Count() > 1, "every connection landed on one backend: the test would not see a remap");

            // Stop, then every connection sends while the agent is down (each on its own thread,
            // answers awaited up to 30 s), then start the agent again with the same flags.
            var clock = Stopwatch.StartNew();
            Assert.Equal(0, agent.Stop(StopTimeout));
            long stoppedMs = clock.ElapsedMilliseconds;
            agent.Dispose();
            agent = null;

            var answers = new PodReply?[Connections];
            var answeredMs = new long[Connections];
            var threads = Enumerable.Range(0, Connections).Select(i => new Thread(() =>
            {
                answers[i] = clients[i].Ask($"during-restart-{i}", TimeSpan.FromSeconds(30));
                answeredMs[i] = clock.ElapsedMilliseconds;
            }) { IsBackground = true, Name = $"lifecycle-client-{i}" }).ToList();
            threads.ForEach(t => t.Start());

            agent = setup.StartAgent();
            long readyMs = clock.ElapsedMilliseconds;
            foreach (var thread in threads)
                Assert.True(thread.Join(TimeSpan.FromSeconds(40)), "a client thread did not finish");

            for (int i = 0; i < Connections; i++)
            {
                Assert.True(answers[i] is not null, $"connection {i} got no answer after the restart; log:\n{agent.Log}");
                Assert.Equal(backendOf[i], answers[i]!.Value.Backend);
                Assert.Equal($"during-restart-{i}", answers[i]!.Value.Sequence);
            }
            // And they keep working at full speed.
            for (int i = 0; i < Connections; i++)
                Assert.Equal(backendOf[i], clients[i].Ask($"after-{i}", Step)?.Backend);

            _output.WriteLine($"SIGTERM → stopped {stoppedMs} ms; restarted agent ready (first snapshot published) at {readyMs} ms; " +
                $"answers during the restart arrived at {answeredMs.Min()}–{answeredMs.Max()} ms (TCP retransmission backoff included); " +
                $"{Connections} connections on {backendOf.Distinct().Count()} backends, all kept theirs");
        }
        finally
        {
            foreach (var client in clients)
                client.Dispose();
            agent?.Dispose();
        }
    }

    [Fact]
    public void A_killed_agent_leaves_no_xdp_program_behind_and_a_new_agent_starts_and_forwards()
    {
        using var setup = new Setup();
        using (var agent = setup.StartAgent())
        {
            using var client = PodClient.Connect(setup.Topology.Client, Vip, Step);
            Assert.NotNull(client.Ask("before", Step));
            agent.KillHard(StopTimeout);
            Assert.DoesNotContain("stopping:", agent.Log);
        }

        // The links die with the process's last fd; give the kernel's deferred release a moment.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        string[] stillAttached;
        do
        {
            stillAttached = setup.Devices
                .Where(d => XdpAttached().IsMatch(setup.Topology.Node.Exec("ip", "-d", "link", "show", "dev", d))).ToArray();
        } while (stillAttached.Length > 0 && DateTime.UtcNow < deadline && Sleep(50));
        Assert.True(stillAttached.Length == 0, $"XDP still attached after SIGKILL on {string.Join(", ", stillAttached)}");

        using var restarted = setup.StartAgent();
        using var after = PodClient.Connect(setup.Topology.Client, Vip, Step);
        Assert.True(after.Ask("after", Step) is not null, $"no answer through the restarted agent; log:\n{restarted.Log}");
    }

    private static bool Sleep(int milliseconds)
    {
        Thread.Sleep(milliseconds);
        return true;
    }

    /// <summary>
    /// AF_XDP sockets open in a namespace: the "sockets" column of the XDP line in
    /// /proc/net/protocols (the kernel's per-netns in-use count; `ss --xdp` needs xsk_diag,
    /// which not every kernel has — this one has not).
    /// </summary>
    private static int XdpSocketCount(NetNs ns)
    {
        foreach (string line in ns.Exec("cat", "/proc/net/protocols").Split('\n'))
            if (line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["XDP", _, var sockets, ..])
                return int.Parse(sockets);
        throw new InvalidOperationException("/proc/net/protocols has no XDP line (kernel without AF_XDP?)");
    }
}

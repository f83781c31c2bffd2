using System.Net;
using Datapath.Tests.Infrastructure;
using FastPath.ControlPlane.Kubernetes.Api;
using FastPath.ControlPlane.Tests.Etcd;
using FastPath.ControlPlane.Tests.KubernetesApi;

namespace Datapath.Tests;

/// <summary>
/// The real agent with <c>--k8s-kubeconfig</c>: its Services and EndpointSlices come from an API server
/// (the list/watch stand-in of the control-plane tests, HTTPS with a bearer token) instead of manifest
/// files. The stand-in listens inside the node netns, where the agent dials 127.0.0.1:
/// <code>
///   client netns ──veth──► node netns: agent ──https://127.0.0.1:port (token, private CA)──► API stand-in
///   10.244.1.10                  ├──veth──► backend-0 10.244.2.1 ┐ EndpointSlice web-abc (listed)
///                                ├──veth──► backend-1 10.244.2.2 ┘
///                                └──veth──► backend-2 10.244.2.3   added by a MODIFIED watch event
///   VIP 10.96.0.10:80 = Service default/web (port http 80 → 8080)
/// </code>
/// </summary>
public sealed class KubernetesApiForwardingTests
{
    private static readonly IPEndPoint Vip = new(ServiceTopology.Vip, 80);
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(30);
    private const int Backends = 3;

    [Fact]
    public async Task The_agent_forwards_a_service_the_API_server_lists_and_follows_a_watch_event_that_adds_a_backend()
    {
        using var topology = ServiceTopology.Create(Backends);
        string root = Path.Combine(Path.GetTempPath(), $"fp-kubeapi-agent-{topology.Id}");
        var servers = new List<PodServers>();
        FakeKubeApiServer? api = null;
        AgentProcess? agent = null;
        try
        {
            for (int i = 0; i < Backends; i++)
                servers.Add(PodServers.Start(topology.Backends[i], $"backend-{i}"));
            var pki = new TestCertificates(Path.Combine(root, "pki"));
            // Kestrel binds its socket while starting: start it on a thread inside the node netns.
            api = topology.Node.RunInside(() => FakeKubeApiServer.StartAsync(pki).GetAwaiter().GetResult());
            api.Put(KubeResource.Services, ApiObjects.Service("default", "web", ServiceTopology.Vip.ToString()));
            api.Put(KubeResource.EndpointSlices, ApiObjects.EndpointSlice("default", "web-abc", "web",
                ServiceTopology.BackendAddress(0).ToString(), ServiceTopology.BackendAddress(1).ToString()));

            string kubeconfig = Path.Combine(root, "kubeconfig");
            File.WriteAllText(kubeconfig, $"""
                apiVersion: v1
                kind: Config
                current-context: test
                contexts: [{"{"}name: test, context: {"{"}cluster: test, user: agent{"}"}{"}"}]
                clusters: [{"{"}name: test, cluster: {"{"}server: "{api.Server}", certificate-authority: "{pki.CaFile}"{"}"}{"}"}]
                users: [{"{"}name: agent, user: {"{"}token: {FakeKubeApiServer.Token}{"}"}{"}"}]
                """);

            agent = AgentProcess.Start(topology.Node,
                "--cluster-name", "tokyo", "--k8s-kubeconfig", kubeconfig,
                "--devices", topology.AgentDevices, "--xdp-mode", "native",
                "--bpf-pin-dir", $"/sys/fs/bpf/fastpath-{topology.Id}");
            agent.WaitForLog("fastpath: ready", ConvergeTimeout);

            var first = AnsweringBackends(topology, agent, connections: 30);
            Assert.Equal(new[] { "backend-0", "backend-1" }, first.Order());
            Assert.Contains(api.ListsOf(KubeResource.Services), r => r.Authorization == $"Bearer {FakeKubeApiServer.Token}");

            api.Event(KubeResource.EndpointSlices, "MODIFIED", ApiObjects.EndpointSlice("default", "web-abc", "web",
                ServiceTopology.BackendAddress(0).ToString(), ServiceTopology.BackendAddress(1).ToString(),
                ServiceTopology.BackendAddress(2).ToString()));
            var deadline = DateTime.UtcNow + ConvergeTimeout;
            HashSet<string> after;
            do
                after = AnsweringBackends(topology, agent, connections: 30);
            while (!after.Contains("backend-2") && DateTime.UtcNow < deadline);
            Assert.Equal(new[] { "backend-0", "backend-1", "backend-2" }, after.Order());

            // The source's work shows on /metrics: one list per watched resource, nothing malformed.
            var metrics = AgentStats.Metrics(topology.Node);
            Assert.True(metrics.Value("fastpath_k8s_api_lists_total") >= KubeResource.All.Count,
                $"lists: {metrics.Value("fastpath_k8s_api_lists_total")}, expected one per resource at least");
            Assert.Equal(0, metrics.Value("fastpath_k8s_api_malformed_events_total"));
        }
        finally
        {
            agent?.Dispose();
            if (api is not null)
                await api.DisposeAsync();
            foreach (var server in servers)
                server.Dispose();
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The backends that answer <paramref name="connections"/> fresh connections through the VIP.</summary>
    private static HashSet<string> AnsweringBackends(ServiceTopology topology, AgentProcess agent, int connections)
    {
        var names = new HashSet<string>();
        for (int i = 0; i < connections; i++)
        {
            using var client = PodClient.Connect(topology.Client, Vip, Step);
            var reply = client.Ask($"c{i}", Step) ?? throw new InvalidOperationException($"connection {i}: no answer; agent log:\n{agent.Log}");
            names.Add(reply.Backend);
        }
        return names;
    }
}

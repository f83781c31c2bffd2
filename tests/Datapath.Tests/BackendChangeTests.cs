using System.Net;
using Datapath.Tests.Infrastructure;

namespace Datapath.Tests;

/// <summary>
/// Backend set changes under open connections, with the real agent (topology in
/// <see cref="ServiceTopology"/>, four backend pods; the services file starts with three or
/// four of them and is rewritten while connections stay open).
/// Tests: adding a backend breaks no long-lived connection and new connections reach the new
/// backend; removing a backend stops its flows while the others' keep working.
/// </summary>
public sealed class BackendChangeTests
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);
    private static readonly IPEndPoint Vip = new(ServiceTopology.Vip, 80);

    private sealed class Setup : IDisposable
    {
        private readonly StandaloneAgent _agent;

        public Setup(int backendPods, IEnumerable<int> initialBackends)
        {
            var initial = initialBackends.ToArray();
            _agent = new StandaloneAgent(backendPods, topology => topology.ServicesYaml(initial), "published snapshot revision 1");
        }

        public ServiceTopology Topology => _agent.Topology;
        public AgentProcess Agent => _agent.Agent;

        /// <summary>Rewrites the services file and waits until the agent published the next revision.</summary>
        public void ChangeBackends(IEnumerable<int> backends, int expectedRevision) =>
            _agent.ChangeServices(Topology.ServicesYaml(backends), expectedRevision);

        public List<(PodClient Client, string Backend)> OpenConnections(int count)
        {
            var open = new List<(PodClient, string)>();
            for (int i = 0; i < count; i++)
            {
                var client = PodClient.Connect(Topology.Client, Vip, Step);
                var reply = client.Ask($"open-{i}", Step) ?? throw new InvalidOperationException($"connection {i} got no answer; agent log:\n{Agent.Log}");
                open.Add((client, reply.Backend));
            }
            return open;
        }

        public Dictionary<string, int> NewConnectionsPerBackend(int count)
        {
            var perBackend = new Dictionary<string, int>();
            for (int i = 0; i < count; i++)
            {
                using var client = PodClient.Connect(Topology.Client, Vip, Step);
                var reply = client.Ask($"new-{i}", Step) ?? throw new InvalidOperationException($"new connection {i} got no answer");
                perBackend[reply.Backend] = perBackend.GetValueOrDefault(reply.Backend) + 1;
            }
            return perBackend;
        }

        public void Dispose() => _agent.Dispose();
    }

    [Fact]
    public void Adding_a_backend_breaks_no_open_connection_and_new_connections_reach_it()
    {
        using var setup = new Setup(backendPods: 4, initialBackends: [0, 1, 2]);
        var open = setup.OpenConnections(30);
        try
        {
            setup.ChangeBackends([0, 1, 2, 3], expectedRevision: 2);

            for (int i = 0; i < open.Count; i++)
            {
                var (client, backend) = open[i];
                var reply = client.Ask($"again-{i}", Step);
                Assert.True(reply is not null, $"open connection {i} (to {backend}) broke after a backend was added; agent log:\n{setup.Agent.Log}");
                Assert.Equal(backend, reply.Value.Backend);
            }

            var perBackend = setup.NewConnectionsPerBackend(120);
            // Maglev gives the new backend about a quarter of the table: 120 flows put some there.
            Assert.True(perBackend.GetValueOrDefault("backend-3") >= 10,
                $"new connections per backend: {string.Join(", ", perBackend.Select(p => $"{p.Key}={p.Value}"))}");
        }
        finally
        {
            foreach (var (client, _) in open)
                client.Dispose();
        }
    }

    [Fact]
    public void Removing_a_backend_stops_its_flows_and_keeps_the_others()
    {
        using var setup = new Setup(backendPods: 4, initialBackends: [0, 1, 2, 3]);
        var open = setup.OpenConnections(40);
        try
        {
            Assert.Contains(open, o => o.Backend == "backend-3");
            setup.ChangeBackends([0, 1, 2], expectedRevision: 2);

            for (int i = 0; i < open.Count; i++)
            {
                var (client, backend) = open[i];
                var reply = client.Ask($"after-{i}", backend == "backend-3" ? TimeSpan.FromSeconds(1) : Step);
                if (backend == "backend-3")
                    Assert.True(reply is null, $"connection {i} to the removed backend still answered: {reply}");
                else
                    Assert.True(reply is { } r && r.Backend == backend, $"connection {i} to {backend} broke: {reply}");
            }

            var perBackend = setup.NewConnectionsPerBackend(60);
            Assert.DoesNotContain("backend-3", perBackend.Keys);
        }
        finally
        {
            foreach (var (client, _) in open)
                client.Dispose();
        }
    }
}

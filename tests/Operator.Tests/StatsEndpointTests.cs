using System.Net;
using System.Text.Json;
using Datapath.Tests.Infrastructure;

namespace Operator.Tests;

/// <summary>
/// The stats endpoint and CLI against a real agent (standalone, --services) in the node netns of
/// <see cref="ServiceTopology"/>: client → VIP 10.96.0.10:80 → two backends, and a second service
/// 10.96.0.11:80 with no backend (its packets are dropped with no_backend). The agent's
/// 127.0.0.1:9962 is the node netns's loopback, so requests run under `ip netns exec` (curl, the CLI).
/// Tests: /healthz 200; /metrics parses and counts the traffic and the drops; /v1/services and
/// /v1/flows list the frontend, backends and flows; `status`, `service list`, `metrics list`, `observe` print them;
/// the CLI against a dead address fails naming it.
/// </summary>
public sealed class StatsEndpointTests : IClassFixture<StatsEndpointTests.Fixture>
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);
    private static readonly IPAddress EmptyVip = IPAddress.Parse("10.96.0.11");
    private readonly Fixture _fixture;

    public StatsEndpointTests(Fixture fixture) => _fixture = fixture;

    public sealed class Fixture : IDisposable
    {
        public const int BackendCount = 2;
        public const int Connections = 20;
        private readonly StandaloneAgent _setup;
        public ServiceTopology Topology => _setup.Topology;
        public AgentProcess Agent => _setup.Agent;

        public Fixture()
        {
            _setup = new StandaloneAgent(BackendCount,
                topology => topology.ServicesYaml(Enumerable.Range(0, BackendCount)) +
                    "  - namespace: default\n    name: empty\n    vip: " + EmptyVip + "\n" +
                    "    ports:\n      - { name: http, protocol: TCP, port: 80, targetPort: 8080 }\n    backends: []\n",
                "stats endpoint listening", filePrefix: "fastpath-ops");
            try
            {
                var vip = new IPEndPoint(ServiceTopology.Vip, 80);
                for (int i = 0; i < Connections; i++)
                {
                    using var client = PodClient.Connect(Topology.Client, vip, Step);
                    if (client.Ask($"conn-{i}", Step) is null)
                        throw new InvalidOperationException($"conn-{i}: no answer through the VIP\n{Agent.Log}");
                }
                // One connection attempt to the service without backends: its SYNs are dropped (no_backend).
                Topology.Client.TryExec(TimeSpan.FromSeconds(5), "curl", "-s", "--connect-timeout", "1", $"http://{EmptyVip}/");
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public (int ExitCode, string Stdout, string Stderr) InNode(params string[] args) =>
            Shell.TryRun(TimeSpan.FromSeconds(20), "ip", ["netns", "exec", Topology.Node.Name, .. args]);

        public string Get(string path)
        {
            var (code, stdout, stderr) = InNode("curl", "-s", "-S", "-w", "\n%{http_code}", $"http://127.0.0.1:9962{path}");
            Assert.True(code == 0, $"curl {path}: {stderr}\n{Agent.Log}");
            return stdout;
        }

        public void Dispose() => _setup.Dispose();
    }

    private static string Body(string curlOutput, out int status)
    {
        int nl = curlOutput.TrimEnd('\n').LastIndexOf('\n');
        status = int.Parse(curlOutput[(nl + 1)..].Trim());
        return curlOutput[..nl];
    }

    [Fact]
    public void Healthz_is_200_once_xdp_is_attached_in_standalone_mode()
    {
        string body = Body(_fixture.Get("/healthz"), out int status);
        Assert.Equal(200, status);
        Assert.Equal("ok", body.Trim());
    }

    [Fact]
    public void Metrics_parse_as_prometheus_text_and_count_the_flows_and_the_no_backend_drops()
    {
        string body = Body(_fixture.Get("/metrics"), out int status);
        Assert.Equal(200, status);
        var metrics = PrometheusText.Parse(body);

        Assert.True(metrics.Value("fastpath_new_flows_total") >= Fixture.Connections, body);
        Assert.True(metrics.Value("fastpath_forwarded_packets_total") >= Fixture.Connections * 4, body);
        Assert.True(metrics.Value("fastpath_drops_total", ("reason", "no_backend")) >= 1, body);
        Assert.Equal(0, metrics.Value("fastpath_drops_total", ("reason", "malformed")));
        Assert.True(metrics.Value("fastpath_steer_packets_total", ("action", "redirect_frontend")) >= Fixture.Connections, body);
        Assert.True(metrics.Value("fastpath_snapshot_publish_seconds_count") >= 1, body);
        Assert.Equal("histogram", metrics.Types["fastpath_snapshot_publish_seconds"]);
        Assert.NotNull(metrics.Find("fastpath_xsk_rx_ring_full_total", ("device", _fixture.Topology.ClientLink), ("queue", "0")));
        Assert.True(metrics.Value("fastpath_ct_entries") >= 0);
        // veth devices have one RX queue: one worker, which claims ct slots without a CAS —
        // the flows counted above were all created that way.
        Assert.Equal(1, metrics.Value("fastpath_workers"));
        Assert.Equal(1, metrics.Value("fastpath_ct_single_inserter"));
        Assert.Equal("counter", metrics.Types["fastpath_drops_total"]);
        // The workers asked for the backends' next hops and the resolver found them.
        Assert.True(metrics.Value("fastpath_neighbour_destinations") >= Fixture.BackendCount, body);
        Assert.Equal("counter", metrics.Types["fastpath_neighbour_events_total"]);
        Assert.Equal(0, metrics.Value("fastpath_neighbour_wants_dropped_total"));
    }

    [Fact]
    public void Metrics_count_packets_and_bytes_per_frontend_and_per_backend_in_both_directions()
    {
        string body = Body(_fixture.Get("/metrics"), out int status);
        Assert.Equal(200, status);
        var metrics = PrometheusText.Parse(body);

        double frontendPackets = Value(metrics, body, "fastpath_frontend_packets_total", ("frontend", "10.96.0.10:80/TCP"));
        // Each connection: SYN, SYN-ACK, ACK, request, reply at least; replies count toward the frontend too.
        Assert.True(frontendPackets >= Fixture.Connections * 5, body);
        Assert.True(Value(metrics, body, "fastpath_frontend_bytes_total", ("frontend", "10.96.0.10:80/TCP")) >= frontendPackets * 54, body);
        Assert.NotNull(metrics.Find("fastpath_frontend_packets_total", [("namespace", "default"), ("service", "echo"), ("frontend", "10.96.0.10:80/TCP")]));
        Assert.Equal("counter", metrics.Types["fastpath_backend_packets_total"]);

        // The two backends serve only this TCP frontend: together they saw exactly its packets
        // (one scrape; the traffic finished before the fixture returned).
        double backendPackets = 0;
        for (int i = 0; i < Fixture.BackendCount; i++)
        {
            var backend = ("backend", $"{ServiceTopology.BackendAddress(i)}:8080");
            var sample = metrics.Find("fastpath_backend_packets_total", backend, ("service", "echo"), ("namespace", "default"));
            Assert.True(sample is not null, $"no fastpath_backend_packets_total for {backend}:\n{body}");
            backendPackets += sample.Value.Value;
        }
        Assert.Equal(frontendPackets, backendPackets);
    }

    private static double Value(PrometheusText metrics, string body, string name, params (string Name, string Value)[] labels) =>
        metrics.Find(name, labels)?.Value ?? throw new Xunit.Sdk.XunitException($"no sample {name} {string.Join(",", labels)}:\n{body}");

    [Fact]
    public void V1_traffic_reports_the_frontend_with_its_stable_id_and_the_backends_with_their_cluster()
    {
        string body = Body(_fixture.Get("/v1/traffic"), out int status);
        Assert.Equal(200, status);
        using var doc = JsonDocument.Parse(body);
        var echo = doc.RootElement.GetProperty("frontends").EnumerateArray().Single(f => f.GetProperty("frontend").GetString() == "10.96.0.10:80/TCP");
        Assert.True(echo.GetProperty("packets").GetInt64() >= Fixture.Connections * 5, body);
        uint id = echo.GetProperty("id").GetUInt32();
        Assert.NotEqual(0u, id);
        // /v1/services (and `service list`) name the frontend by the same id.
        using var services = JsonDocument.Parse(Body(_fixture.Get("/v1/services"), out _));
        Assert.Equal(id, services.RootElement.EnumerateArray().Single(s => s.GetProperty("frontend").GetString() == "10.96.0.10:80/TCP")
            .GetProperty("id").GetUInt32());
        var backends = doc.RootElement.GetProperty("backends").EnumerateArray()
            .Where(b => b.GetProperty("protocol").GetString() == "TCP").ToList();
        Assert.Equal(Fixture.BackendCount, backends.Count);
        Assert.All(backends, b => Assert.Equal(doc.RootElement.GetProperty("local_cluster").GetString(), b.GetProperty("cluster").GetString()));
        Assert.True(doc.RootElement.GetProperty("drops").GetProperty("no_backend").GetInt64() >= 1, body);
    }

    [Fact]
    public void The_dashboard_page_is_served_self_contained()
    {
        string body = Body(_fixture.Get("/"), out int status);
        Assert.Equal(200, status);
        Assert.Contains("<title>FastPath dashboard</title>", body);
        Assert.Contains("/v1/traffic", body);
        Assert.DoesNotContain("http://", body.Replace("http://127.0.0.1", "")); // no external script, style or font
        Assert.DoesNotContain("https://", body);
    }

    [Fact]
    public void V1_services_lists_the_frontend_and_its_backends()
    {
        string body = Body(_fixture.Get("/v1/services"), out int status);
        Assert.Equal(200, status);
        using var doc = JsonDocument.Parse(body);
        var echo = doc.RootElement.EnumerateArray().Single(s => s.GetProperty("frontend").GetString() == "10.96.0.10:80/TCP");
        Assert.Equal("echo", echo.GetProperty("service").GetString());
        Assert.Equal("default", echo.GetProperty("namespace").GetString());
        var backends = echo.GetProperty("backends").EnumerateArray().Select(b => b.GetProperty("backend").GetString()).ToList();
        Assert.Equal(["10.244.2.1:8080/TCP", "10.244.2.2:8080/TCP"], backends.Order().ToList());
    }

    [Fact]
    public void V1_flows_shows_the_forwarded_flows_and_the_drops()
    {
        string body = Body(_fixture.Get("/v1/flows"), out int status);
        Assert.Equal(200, status);
        using var doc = JsonDocument.Parse(body);
        var flows = doc.RootElement.EnumerateArray().ToList();
        var forwarded = flows.Where(f => f.GetProperty("verdict").GetString() == "FORWARDED").ToList();
        Assert.True(forwarded.Count >= Fixture.Connections, body);
        Assert.All(forwarded, f => Assert.Equal("default/echo", f.GetProperty("service").GetString()));
        Assert.All(forwarded, f => Assert.Equal(ServiceTopology.ClientAddress.ToString(), f.GetProperty("source").GetProperty("ip").GetString()));
        Assert.Contains(flows, f => f.GetProperty("verdict").GetString() == "DROPPED" && f.GetProperty("drop_reason").GetString() == "no_backend");
    }

    [Fact]
    public void Cli_status_service_list_and_observe_print_what_the_agent_knows()
    {
        var status = _fixture.InNode(RepoPaths.Agent, "status");
        Assert.True(status.ExitCode == 0, status.Stderr);
        Assert.Contains("FastPath: OK", status.Stdout);
        Assert.Contains("ClusterMesh: disabled", status.Stdout);

        var services = _fixture.InNode(RepoPaths.Agent, "service", "list", "--clustermesh-affinity");
        Assert.True(services.ExitCode == 0, services.Stderr);
        var lines = services.Stdout.Split('\n').Select(l => l.Trim()).ToList();
        Assert.Matches(@"^ID\s+Frontend\s+Service Type\s+Backend$", lines[0]);
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\d+\s+10\.96\.0\.10:80/TCP\s+ClusterIP\s+1 => 10\.244\.2\.\d:8080/TCP \(active\)$"));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^2 => 10\.244\.2\.\d:8080/TCP \(active\)$"));

        var observe = _fixture.InNode(RepoPaths.Agent, "observe", "--verdict", "DROPPED");
        Assert.True(observe.ExitCode == 0, observe.Stderr);
        var dropLines = observe.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(dropLines);
        Assert.All(dropLines, l => Assert.Contains(" DROPPED (TCP, no_backend)", l));
        Assert.Contains(dropLines, l => l.Contains($"{ServiceTopology.ClientAddress}:") && l.Contains($" -> {EmptyVip}:80 service default/empty"));
    }

    [Fact]
    public void Cli_metrics_list_prints_the_matching_metrics_and_rejects_a_bad_pattern()
    {
        var drops = _fixture.InNode(RepoPaths.Agent, "metrics", "list", "--match-pattern", "^fastpath_(drops|new_flows)_total$");
        Assert.True(drops.ExitCode == 0, drops.Stderr);
        var lines = drops.Stdout.TrimEnd('\n').Split('\n').Select(l => l.Trim()).ToList();
        Assert.Matches(@"^Metric\s+Labels\s+Value$", lines[0]);
        var noBackend = lines.Single(l => l.StartsWith("fastpath_drops_total") && l.Contains("reason=no_backend"));
        Assert.True(long.Parse(noBackend.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]) >= 1, noBackend);
        var newFlows = lines.Single(l => l.StartsWith("fastpath_new_flows_total"));
        Assert.True(long.Parse(newFlows.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]) >= Fixture.Connections, newFlows);
        Assert.All(lines.Skip(1), l => Assert.Matches("^fastpath_(drops|new_flows)_total ", l));

        var bad = _fixture.InNode(RepoPaths.Agent, "metrics", "list", "-p", "drops(");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--match-pattern 'drops('", bad.Stderr);
    }

    [Fact]
    public void Cli_against_an_address_nobody_listens_on_fails_and_names_the_address()
    {
        var result = _fixture.InNode(RepoPaths.Agent, "status", "--server", "127.0.0.1:9");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("127.0.0.1:9", result.Stderr);
        Assert.Contains("cannot reach the fastpath agent", result.Stderr);
    }
}

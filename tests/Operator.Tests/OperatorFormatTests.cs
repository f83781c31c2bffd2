using System.Text.RegularExpressions;
using FastPath.Agent.Cli;
using FastPath.Agent.Stats;
using Datapath.Tests.Infrastructure;

namespace Operator.Tests;

/// <summary>
/// The Prometheus writer (escaping, family grouping, cumulative histogram buckets) and the CLI's
/// text (cilium-status lines, service-list rows with preferred marks, hubble-style flow lines),
/// fed with hand-built documents.
/// </summary>
public sealed class OperatorFormatTests
{
    [Fact]
    public void Label_values_escape_backslash_quote_and_newline_and_parse_back_unchanged()
    {
        const string nasty = "a\\b\"c\nd";
        var w = new PrometheusWriter();
        w.Counter("fastpath_test_total", "Help with a \\ and a\nnewline.", 3, ("service", nasty));
        string text = w.ToString();

        Assert.Contains("fastpath_test_total{service=\"a\\\\b\\\"c\\nd\"} 3\n", text);
        Assert.Contains("# HELP fastpath_test_total Help with a \\\\ and a\\nnewline.\n", text);
        Assert.Equal(nasty, PrometheusText.Parse(text).Samples.Single().Labels["service"]);
    }

    [Fact]
    public void Interleaved_families_come_out_contiguous_with_one_help_and_type_each()
    {
        var w = new PrometheusWriter();
        for (int q = 0; q < 3; q++)
        {
            w.Counter("fastpath_a_total", "A.", q, ("queue", q.ToString()));
            w.Gauge("fastpath_b", "B.", q * 10, ("queue", q.ToString()));
        }
        string text = w.ToString();
        var parsed = PrometheusText.Parse(text); // throws when a family is split

        Assert.Single(text.Split('\n'), l => l == "# TYPE fastpath_a_total counter");
        Assert.Single(text.Split('\n'), l => l == "# TYPE fastpath_b gauge");
        Assert.Equal(20, parsed.Value("fastpath_b", ("queue", "2")));
        Assert.Equal(6, parsed.Samples.Count);
    }

    [Fact]
    public void Histogram_buckets_are_cumulative_and_end_with_inf_sum_and_count()
    {
        var h = new LatencyHistogram([0.001, 0.01, 0.1]);
        foreach (double s in new[] { 0.0005, 0.002, 0.003, 0.05, 7.0 })
            h.Observe(s);
        var (counts, sum) = h.Read();
        var w = new PrometheusWriter();
        w.Histogram("fastpath_snapshot_publish_seconds", "Publish latency.", h.Bounds, counts, sum);
        var p = PrometheusText.Parse(w.ToString());

        Assert.Equal("histogram", p.Types["fastpath_snapshot_publish_seconds"]);
        Assert.Equal(1, p.Value("fastpath_snapshot_publish_seconds_bucket", ("le", "0.001")));
        Assert.Equal(3, p.Value("fastpath_snapshot_publish_seconds_bucket", ("le", "0.01")));
        Assert.Equal(4, p.Value("fastpath_snapshot_publish_seconds_bucket", ("le", "0.1")));
        Assert.Equal(5, p.Value("fastpath_snapshot_publish_seconds_bucket", ("le", "+Inf")));
        Assert.Equal(5, p.Value("fastpath_snapshot_publish_seconds_count"));
        Assert.Equal(7.0555, p.Value("fastpath_snapshot_publish_seconds_sum"), 6);
    }

    [Fact]
    public void Metrics_list_shows_each_sample_with_its_labels_unescaped_and_filters_by_name()
    {
        var w = new PrometheusWriter();
        w.Counter("fastpath_drops_total", "Drops.", 7, ("reason", "no_backend"));
        w.Counter("fastpath_drops_total", "Drops.", 0, ("reason", "ct_full"));
        w.Counter("fastpath_frontend_packets_total", "Packets.", 12, ("service", "say \"hi\"\\"), ("cluster", "hk"));
        w.Histogram("fastpath_snapshot_publish_seconds", "Publish latency.", [0.01], [2, 3], 0.25);
        string text = w.ToString();

        var all = CliFormat.MetricList(text, null).TrimEnd('\n').Split('\n').Select(l => l.Trim()).ToList();
        Assert.Matches(@"^Metric\s+Labels\s+Value$", all[0]);
        Assert.Contains(all, l => Regex.IsMatch(l, @"^fastpath_drops_total\s+reason=no_backend\s+7$"));
        Assert.Contains(all, l => Regex.IsMatch(l, @"^fastpath_drops_total\s+reason=ct_full\s+0$"));
        Assert.Contains(all, l => Regex.IsMatch(l, @"^fastpath_frontend_packets_total\s+service=say ""hi""\\ cluster=hk\s+12$"));
        Assert.Contains(all, l => Regex.IsMatch(l, @"^fastpath_snapshot_publish_seconds_bucket\s+le=\+Inf\s+5$"));
        Assert.Contains(all, l => Regex.IsMatch(l, @"^fastpath_snapshot_publish_seconds_sum\s+0\.25$"));
        Assert.DoesNotContain(all, l => l.StartsWith('#'));
        Assert.Equal(1 + 2 + 1 + 4, all.Count); // header, two drops, one frontend, two buckets + sum + count

        var drops = CliFormat.MetricList(text, new Regex("drops")).TrimEnd('\n').Split('\n');
        Assert.Equal(3, drops.Length);
        Assert.All(drops.Skip(1), l => Assert.StartsWith("fastpath_drops_total", l.Trim()));
    }

    private static ClusterDoc Hk(bool ready = true, long failures = 0, DateTimeOffset? last = null) => new(
        "hk", 2, "https://10.0.0.2:2379", ready, ready, true, true, new SyncDoc(true, true, true, ready),
        2, 4, 3, 1, failures, last, null);

    [Fact]
    public void Status_prints_the_clustermesh_summary_and_one_cilium_style_line_per_cluster()
    {
        var now = DateTimeOffset.UtcNow;
        var mesh = new ClusterMeshDoc("tokyo", 1, "mesh", 1, 1, 1, 7, null, [Hk()], new Dictionary<string, string>(), true, "ok");

        string text = CliFormat.Status(mesh, verbose: false, now);
        string verbose = CliFormat.Status(mesh, verbose: true, now);

        Assert.Contains("ClusterMesh: 1/1 remote clusters ready, 1 global-services\n", text);
        Assert.Contains("   hk: ready, 2 nodes, 4 endpoints, 3 identities, 1 services, 0 failures (last: never)\n", text);
        Assert.DoesNotContain("etcd:", text);
        Assert.Contains("   └  etcd: 1/1 connected, endpoint https://10.0.0.2:2379\n", verbose);
        Assert.Contains("   └  remote configuration: expected=true, retrieved=true, cluster-id=2, sync-canaries=true\n", verbose);
        Assert.Contains("   └  synchronization status: nodes=true, endpoints=true, identities=true, services=true\n", verbose);
    }

    [Fact]
    public void A_cluster_that_failed_says_not_ready_and_how_long_ago()
    {
        var now = DateTimeOffset.UtcNow;
        string line = CliFormat.ClusterLine(Hk(ready: false, failures: 3, last: now.AddSeconds(-42)), now);
        Assert.Equal("hk: not-ready, 2 nodes, 4 endpoints, 3 identities, 1 services, 3 failures (last: 42s ago)", line);
    }

    [Fact]
    public void Service_list_marks_preferred_backends_only_with_clustermesh_affinity_and_an_affinity_set()
    {
        var services = new List<ServiceDoc>
        {
            new(1, "10.2.0.1:443/TCP", "default", "kubernetes", "ClusterIP", false, true, "none",
                [new BackendDoc(1, "172.18.0.4:6443/TCP", "west", "active", true, 100, null)]),
            new(13, "10.2.164.148:80/TCP", "default", "webpod", "ClusterIP", true, true, "remote",
            [
                new BackendDoc(1, "10.1.1.2:80/TCP", "east", "active", true, 100, null),
                new BackendDoc(2, "10.0.1.171:80/TCP", "west", "active", false, 100, null),
            ]),
        };

        var lines = CliFormat.ServiceList(services, clusterMeshAffinity: true).Split('\n').Select(l => l.Trim()).ToList();
        string plain = CliFormat.ServiceList(services, clusterMeshAffinity: false);

        Assert.Matches(@"^ID\s+Frontend\s+Service Type\s+Backend$", lines[0]);
        Assert.Matches(@"^1\s+10\.2\.0\.1:443/TCP\s+ClusterIP\s+1 => 172\.18\.0\.4:6443/TCP \(active\)$", lines[1]);
        Assert.Matches(@"^13\s+10\.2\.164\.148:80/TCP\s+ClusterIP\s+1 => 10\.1\.1\.2:80/TCP \(active\) \(preferred\)$", lines[2]);
        Assert.Equal("2 => 10.0.1.171:80/TCP (active)", lines[3]);
        Assert.DoesNotContain("(preferred)", plain);
    }

    [Fact]
    public void Flow_lines_name_pods_and_clusters_and_end_with_verdict_and_reason()
    {
        var time = new DateTimeOffset(2025, 1, 2, 15, 4, 5, 678, TimeSpan.Zero);
        var flow = new FlowDoc(time, 0, 9, "DROPPED", "policy_denied", "egress", "TCP",
            new EndpointDoc("10.0.1.5", 43210, 1234, "default", "client", "tokyo"),
            new EndpointDoc("10.96.0.10", 80, 0, null, null, null), "10.96.0.10:80/TCP", "default/webpod",
            new EndpointDoc("10.1.1.2", 8080, 5678, "default", "webpod-hk", "hk"));

        string line = CliFormat.FlowLine(flow);

        Assert.EndsWith(": default/client:43210 (tokyo) -> default/webpod-hk:8080 (hk) service default/webpod DROPPED (TCP, policy_denied egress)", line);
        Assert.StartsWith(time.ToLocalTime().ToString("MMM dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture), line);
        Assert.True(CliFormat.Matches(flow, "dropped", "tokyo"));
        Assert.False(CliFormat.Matches(flow, "FORWARDED", null));
        Assert.False(CliFormat.Matches(flow, null, "hk"));
    }
}

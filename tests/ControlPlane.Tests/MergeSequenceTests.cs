using System.Collections.Immutable;
using FastPath.Addressing;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Mesh;
using FastPath.ControlPlane.Model;
using static FastPath.ControlPlane.Tests.MergeTests;

namespace FastPath.ControlPlane.Tests;

/// <summary>
/// The merge over time and over input order: affinity fallback and return as states change (seeds 000
/// and 003: pods deleted then recreated), equal outputs for shuffled inputs, the export this cluster
/// would publish, and the manifest fixtures merged end to end.
/// </summary>
public sealed class MergeSequenceTests
{
    private const string Local = "hk";

    private static string Selected(DesiredState state) =>
        string.Join(" ", Assert.Single(state.Frontends).Backends.Select(b => $"{b.Address}@{b.Cluster}"));

    [Fact]
    public void Affinity_local_falls_back_to_remote_when_local_pods_go_and_returns_when_they_come_back()
    {
        var service = Svc("bookstore", "10.104.65.103", global: "true", affinity: "local");
        ClusterState[] remotes = [Remote("tokyo", 2, Export("tokyo", "bookstore", true, "10.244.2.41"))];
        (string LocalEndpoints, string Expected)[] steps =
        [
            ("10.245.1.5 10.245.1.6", "10.245.1.5@hk 10.245.1.6@hk"),
            ("10.245.1.5~ 10.245.1.6?", "10.244.2.41@tokyo"), // pods deleted: terminating / not ready
            ("", "10.244.2.41@tokyo"),
            ("10.245.1.7", "10.245.1.7@hk"), // a new pod is ready: back to local
        ];

        long revision = 0;
        foreach (var (endpoints, expected) in steps)
        {
            var state = MeshMerger.Merge(Local, Objects([service], Slice("bookstore", endpoints)), remotes, ++revision);
            Assert.Equal(expected, Selected(state));
        }
    }

    [Fact]
    public void Affinity_remote_falls_back_to_local_when_the_remote_side_empties_and_returns_when_it_refills()
    {
        var local = Objects([Svc("webpod", "10.2.164.148", global: "true", affinity: "remote")], Slice("webpod", "10.0.1.14"));
        (ClusterState[] Remotes, string Expected)[] steps =
        [
            ([Remote("east", 2, Export("east", "webpod", true, "10.1.1.2"))], "10.1.1.2@east"),
            ([Remote("east", 2, Export("east", "webpod", true, ""))], "10.0.1.14@hk"),
            ([Remote("east", 2, Export("east", "webpod", false, "10.1.1.2"))], "10.0.1.14@hk"), // east stopped sharing
            ([], "10.0.1.14@hk"), // east disconnected and drained
            ([Remote("east", 2, Export("east", "webpod", true, "10.1.1.2 10.1.1.3"))], "10.1.1.2@east 10.1.1.3@east"),
        ];

        foreach (var (remotes, expected) in steps)
            Assert.Equal(expected, Selected(MeshMerger.Merge(Local, local, remotes, 1)));
    }

    [Fact]
    public void Equal_inputs_in_any_order_give_equal_sorted_output()
    {
        LocalService[] services =
        [
            Svc("zeta", "10.96.0.9", global: "true"),
            Svc("alpha", "10.96.0.200", global: "true", ports: [("b", 90, L4Protocol.Tcp), ("a", 80, L4Protocol.Tcp), ("a", 80, L4Protocol.Udp)]),
            Svc("mid", "fd00::1,10.96.0.5"),
        ];
        LocalEndpointSlice[] slices =
        [
            Slice("zeta", "10.245.9.9 10.245.1.10 10.245.1.9"),
            Slice("alpha", "10.245.2.2 10.245.2.1", ("a", 8080, L4Protocol.Tcp), ("b", 9090, L4Protocol.Tcp), ("a", 8080, L4Protocol.Udp)),
            Slice("mid", "fd00::5 10.245.3.3"),
        ];
        ClusterState[] remotes =
        [
            Remote("tokyo", 2, Export("tokyo", "zeta", true, "10.244.0.3 10.244.0.1 10.244.0.2")),
            Remote("osaka", 3, Export("osaka", "zeta", true, "10.243.0.1")),
        ];

        var first = MeshMerger.Merge(Local, Objects(services, slices), remotes, 1);
        var second = MeshMerger.Merge(Local, Objects([.. services.Reverse()], [.. slices.Reverse()]), [.. remotes.Reverse()], 1);

        Assert.Equal(Render(first), Render(second));
        Assert.Equal(
            new[]
            {
                "10.96.0.200:80/TCP", "10.96.0.200:80/UDP", "10.96.0.200:90/TCP",
                "10.96.0.5:8080/TCP", "[fd00::1]:8080/TCP",
                "10.96.0.9:8080/TCP",
            },
            first.Frontends.Select(f => f.ToString()).ToArray());
        Assert.Equal(
            "10.243.0.1 10.244.0.1 10.244.0.2 10.244.0.3 10.245.1.9 10.245.1.10 10.245.9.9",
            string.Join(" ", first.Frontends[^1].Backends.Select(b => b.Address)));
    }

    [Fact]
    public void The_local_export_holds_global_shared_services_with_ready_backends_by_port_name()
    {
        var local = Objects(
            [
                Svc("shop", "10.96.40.7", global: "true", ports: [("http", 80, L4Protocol.Tcp)]),
                Svc("private", "10.96.40.8", global: "true", shared: "false"),
                Svc("plain", "10.96.40.9"),
            ],
            Slice("shop", "10.0.2.21 10.0.2.22~", ("http", 8080, L4Protocol.Tcp)),
            Slice("private", "10.0.2.30"),
            Slice("plain", "10.0.2.40"));

        var export = Assert.Single(LocalServiceExport.Build(Local, 1, local));

        Assert.Equal(("hk", "default", "shop", 1u, true), (export.Cluster, export.Namespace, export.Name, export.ClusterId, export.Shared));
        var frontendPort = Assert.Single(export.Frontends[NetAddress.Parse("10.96.40.7")]);
        Assert.Equal(new ClusterServicePort("http", L4Protocol.Tcp, 80), frontendPort);
        var backend = Assert.Single(export.Backends); // the terminating pod is not exported
        Assert.Equal(NetAddress.Parse("10.0.2.21"), backend.Key);
        Assert.Equal(new ClusterServicePort("http", L4Protocol.Tcp, 8080), Assert.Single(backend.Value));
    }

    [Fact]
    public async Task The_manifest_fixtures_merge_with_a_remote_cluster_end_to_end()
    {
        await using var source = new ManifestDirectorySource(ManifestTestData.Path("manifests"));
        await source.StartAsync(CancellationToken.None);
        ClusterState[] remotes =
        [
            Remote("tokyo", 2, Export("tokyo", "bookstore", true, "10.244.2.41 10.244.2.209", ("", 8080, L4Protocol.Tcp))),
        ];

        var state = MeshMerger.Merge(Local, source.Current, remotes, source.Current.Generation);
        var byFrontend = state.Frontends.ToDictionary(f => f.ToString());

        // seed 000: hk's bookstore has no endpoints; tokyo's backends serve it.
        Assert.Equal("10.244.2.41@tokyo 10.244.2.209@tokyo",
            string.Join(" ", byFrontend["10.104.65.103:8080/TCP"].Backends.Select(b => $"{b.Address}@{b.Cluster}")));
        // webpod: one ready pod, one terminating; only the ready one is selected.
        Assert.Equal("10.0.1.14", string.Join(" ", byFrontend["10.2.164.148:80/TCP"].Backends.Select(b => b.Address)));
        // shop: http resolves to the slice's 8080, dns to 5353/UDP; the IPv6 frontend has no IPv6 backend.
        Assert.Equal("10.0.2.21:8080/TCP 10.0.2.22:8080/TCP", string.Join(" ", byFrontend["10.96.40.7:80/TCP"].Backends));
        Assert.Equal("10.0.2.21:5353/UDP 10.0.2.22:5353/UDP", string.Join(" ", byFrontend["10.96.40.7:53/UDP"].Backends));
        Assert.Empty(byFrontend["[fd00:10:96::4007]:80/TCP"].Backends);
        Assert.Equal(6, state.Frontends.Length); // bookstore, webpod, shop 2 ports x 2 families
    }
}

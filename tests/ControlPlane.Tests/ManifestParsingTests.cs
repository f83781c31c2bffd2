using FastPath.Addressing;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Kubernetes.Manifests;
using FastPath.ControlPlane.Model;
using YamlDotNet.RepresentationModel;

namespace FastPath.ControlPlane.Tests;

/// <summary>
/// Reading Service / EndpointSlice / Cilium policy YAML as kubectl prints it, from the fixtures in
/// TestData/manifests (seed 000's bookstore, seed 003's webpod with legacy annotations, a named-port
/// dual-stack service, a headless one, an ignored Deployment, a List of slices, a CNP and a CCNP) and
/// the broken files in TestData/malformed.
/// </summary>
public sealed class ManifestParsingTests
{
    private static async Task<(KubernetesObjects Objects, List<string> Log)> LoadFixturesAsync()
    {
        var log = new List<string>();
        await using var source = new ManifestDirectorySource(
            ManifestTestData.Path("manifests"), (level, message) => { lock (log) log.Add($"{level}: {message}"); });
        await source.StartAsync(CancellationToken.None);
        return (source.Current, log);
    }

    [Fact]
    public async Task Seed_services_are_read_with_their_cilium_annotations_interpreted()
    {
        var (objects, _) = await LoadFixturesAsync();

        Assert.Equal(
            ["default/bookstore", "default/webpod", "store/shop", "store/shop-peers"],
            objects.Services.Select(s => s.Name.ToString()));

        var bookstore = objects.FindService(new ServiceName("default", "bookstore"))!;
        Assert.True(bookstore.Global);
        Assert.True(bookstore.Shared); // shared defaults to true for a global service
        Assert.Equal(ServiceAffinity.None, bookstore.Affinity);
        Assert.Equal(new[] { NetAddress.Parse("10.104.65.103") }, bookstore.ClusterIPs.ToArray());
        var port = Assert.Single(bookstore.Ports);
        Assert.Equal(new LocalServicePort("", L4Protocol.Tcp, 8080, "8080"), port);
        Assert.Equal("bookstore", bookstore.Selector["app"]);
        Assert.Equal(new ManifestLocation("services.yaml", 1), bookstore.Source);

        // Legacy annotation names, values in mixed case.
        var webpod = objects.FindService(new ServiceName("default", "webpod"))!;
        Assert.True(webpod.Global);
        Assert.False(webpod.Shared);
        Assert.Equal(ServiceAffinity.Remote, webpod.Affinity);
        Assert.Equal("webpod", webpod.Labels["app"]);
    }

    [Fact]
    public async Task Named_ports_dual_stack_and_headless_services_are_read_as_written()
    {
        var (objects, _) = await LoadFixturesAsync();

        var shop = objects.FindService(new ServiceName("store", "shop"))!;
        Assert.True(shop.Global);
        Assert.Equal(ServiceAffinity.Local, shop.Affinity);
        Assert.Equal(new[] { NetAddress.Parse("10.96.40.7"), NetAddress.Parse("fd00:10:96::4007") }, shop.ClusterIPs.ToArray());
        Assert.Equal(
            new[] { new LocalServicePort("http", L4Protocol.Tcp, 80, "web"), new LocalServicePort("dns", L4Protocol.Udp, 53, "5353") },
            shop.Ports.ToArray());

        // Headless: no virtual IP. Affinity without global means nothing, so it reads as none.
        var peers = objects.FindService(new ServiceName("store", "shop-peers"))!;
        Assert.Empty(peers.ClusterIPs);
        Assert.False(peers.Global);
        Assert.False(peers.Shared);
        Assert.Equal(ServiceAffinity.None, peers.Affinity);
        Assert.Equal(3, objects.GlobalServiceCount); // bookstore, webpod, shop
    }

    [Fact]
    public async Task EndpointSlices_in_a_kubectl_list_keep_their_conditions_ports_and_pods()
    {
        var (objects, _) = await LoadFixturesAsync();

        Assert.Equal(["bookstore-7xq2m", "webpod-b8r4t", "shop-abcde"], objects.EndpointSlices.Select(s => s.Name));

        var bookstore = objects.EndpointSlices[0];
        Assert.Equal("bookstore", bookstore.ServiceName);
        Assert.Empty(bookstore.Endpoints); // "endpoints: null" — seed 000's ClusterIP with no endpoints
        Assert.Equal(new ManifestLocation("endpointslices.yaml", 1, "items[0]"), bookstore.Source);

        var webpod = objects.EndpointSlices[1];
        Assert.Equal(new EndpointSlicePort("", L4Protocol.Tcp, 80), Assert.Single(webpod.Ports));
        var first = webpod.Endpoints[0];
        Assert.Equal(new[] { NetAddress.Parse("10.0.1.14") }, first.Addresses.ToArray());
        Assert.Equal((true, true, false), (first.Ready, first.Serving, first.Terminating));
        Assert.Equal(("west-worker", "webpod-697b545f57-2l8xk"), (first.NodeName, first.PodName));
        Assert.Equal((false, true, true), (webpod.Endpoints[1].Ready, webpod.Endpoints[1].Serving, webpod.Endpoints[1].Terminating));

        // Unset conditions follow Kubernetes: ready unknown = ready, serving = ready, not terminating.
        var shop = objects.EndpointSlices[2];
        Assert.Equal("store", shop.Namespace);
        Assert.Equal((true, true, false), (shop.Endpoints[1].Ready, shop.Endpoints[1].Serving, shop.Endpoints[1].Terminating));
        Assert.Equal(
            new[] { new EndpointSlicePort("http", L4Protocol.Tcp, 8080), new EndpointSlicePort("dns", L4Protocol.Udp, 5353) },
            shop.Ports.ToArray());
    }

    [Fact]
    public async Task Cilium_policies_are_kept_as_yaml_trees_with_file_and_document()
    {
        var (objects, _) = await LoadFixturesAsync();

        Assert.Equal(2, objects.Policies.Length);
        var cnp = objects.Policies[0];
        Assert.Equal(PolicyDocument.CiliumNetworkPolicyKind, cnp.Kind);
        Assert.Equal("allow-netshoot-pod-to-tokyo", cnp.Name);
        Assert.Equal("default", cnp.Namespace);
        Assert.Equal(new ManifestLocation("policies.yml", 1), cnp.Source);
        var spec = (YamlMappingNode)cnp.Document["spec"];
        var egress = (YamlSequenceNode)spec["egress"];
        Assert.Equal(2, egress.Children.Count);

        var ccnp = objects.Policies[1];
        Assert.True(ccnp.IsClusterwide);
        Assert.Null(ccnp.Namespace);
        Assert.Equal(new ManifestLocation("policies.yml", 2), ccnp.Source);
    }

    [Fact]
    public async Task Unknown_kinds_are_ignored_with_a_debug_note()
    {
        var (objects, log) = await LoadFixturesAsync();

        Assert.DoesNotContain(objects.Services, s => s.Name.Name == "bookstore-v1");
        Assert.Contains(log, line => line.StartsWith("Debug: services.yaml doc 5: ignoring kind Deployment", StringComparison.Ordinal));
        Assert.DoesNotContain(log, line => line.StartsWith("Error", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("port-name.yaml", 2, "spec.ports[1].port", "port-name.yaml doc 2: spec.ports[1].port: expected an integer 1-65535, got \"http\"")]
    [InlineData("missing-label.yaml", 1, "metadata.labels[\"kubernetes.io/service-name\"]",
        "missing-label.yaml doc 1: metadata.labels[\"kubernetes.io/service-name\"]: required field is missing")]
    [InlineData("bad-address-in-list.yaml", 1, "items[1].endpoints[1].addresses[0]",
        "bad-address-in-list.yaml doc 1: items[1].endpoints[1].addresses[0]: expected an IPv4 or IPv6 address, got \"10.0.0.300\"")]
    [InlineData("bad-protocol.yaml", 1, "spec.ports[0].protocol", "bad-protocol.yaml doc 1: spec.ports[0].protocol: expected TCP, UDP or SCTP, got \"ICMP\"")]
    [InlineData("bad-yaml.yaml", 2, "", "bad-yaml.yaml doc 2: malformed YAML at line ")]
    public void A_malformed_file_is_an_error_naming_file_document_and_path(string file, int document, string path, string messageStart)
    {
        string text = File.ReadAllText(ManifestTestData.Path("malformed", file));

        var error = Assert.Throws<ManifestException>(() => ManifestParser.Parse(file, text));

        Assert.Equal(file, error.FileName);
        Assert.Equal(document, error.Document);
        Assert.Equal(path, error.Path);
        Assert.StartsWith(messageStart, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Service_annotations_prefer_the_current_name_over_the_legacy_one()
    {
        var both = new Dictionary<string, string>
        {
            [ServiceAnnotations.Global] = "true",
            [ServiceAnnotations.Affinity] = "none",
            [ServiceAnnotations.AffinityLegacy] = "local",
            [ServiceAnnotations.Shared] = "TRUE",
            [ServiceAnnotations.SharedLegacy] = "false",
        };
        Assert.Equal(ServiceAffinity.None, ServiceAnnotations.AffinityOf(both));
        Assert.True(ServiceAnnotations.IsShared(both));

        var notTrue = new Dictionary<string, string> { [ServiceAnnotations.GlobalLegacy] = "yes" };
        Assert.False(ServiceAnnotations.IsGlobal(notTrue));
    }
}

/// <summary>Finds TestData in the source tree (walking up to FastPath.sln), so fixtures need no copy step.</summary>
internal static class ManifestTestData
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "FastPath.sln")))
                return System.IO.Path.Combine(dir.FullName, "tests", "ControlPlane.Tests", "TestData");
        }
        throw new InvalidOperationException("FastPath.sln not found above " + AppContext.BaseDirectory);
    });

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root.Value, .. parts]);
}

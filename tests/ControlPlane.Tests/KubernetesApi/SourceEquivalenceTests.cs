using System.Text;
using System.Text.Json.Nodes;
using FastPath.Addressing;
using FastPath.ControlPlane.Kubernetes;
using FastPath.ControlPlane.Kubernetes.Api;
using FastPath.ControlPlane.Policy;
using FastPath.ControlPlane.Runtime;
using FastPath.ControlPlane.Tests.Kvstore;
using FastPath.Maglev;
using FastPath.Snapshot;
using YamlDotNet.RepresentationModel;

namespace FastPath.ControlPlane.Tests.KubernetesApi;

/// <summary>
/// One interface, two sources: the manifest fixtures (TestData/manifests) read by <see cref="ManifestDirectorySource"/>
/// and the same objects served as JSON by the fake API server to <see cref="ApiServerSource"/> must give the same
/// <see cref="KubernetesObjects"/> (apart from where each object came from), the same policy documents, and the
/// same forwarding table through <see cref="MeshControlPlane"/>.
/// </summary>
public sealed class SourceEquivalenceTests
{
    [Fact]
    public async Task The_manifest_fixtures_served_by_the_API_give_the_same_objects_as_the_manifest_directory()
    {
        await using var manifests = new ManifestDirectorySource(ManifestTestData.Path("manifests"));
        await manifests.StartAsync(CancellationToken.None);
        await using var env = await ApiTestEnvironment.StartAsync();
        int served = Serve(env.Server, ManifestTestData.Path("manifests"));
        var api = env.Source();
        await api.StartAsync(CancellationToken.None);

        var fromFiles = manifests.Current;
        var fromApi = api.Current;
        Assert.True(served >= 8, $"only {served} objects served");
        Assert.NotEmpty(fromFiles.Services);
        Assert.NotEmpty(fromFiles.EndpointSlices);
        Assert.Equal(2, fromFiles.Policies.Length);
        Assert.Equal(fromFiles.Services.Select(DescribeService), fromApi.Services.Select(DescribeService));
        Assert.Equal(fromFiles.EndpointSlices.Select(DescribeSlice), fromApi.EndpointSlices.Select(DescribeSlice));
        Assert.Equal(string.Join("\n", fromFiles.Policies.Select(DescribePolicy).Order()), string.Join("\n", fromApi.Policies.Select(DescribePolicy).Order()));
        Assert.Equal(0, api.Counters.MalformedEvents);

        // The policy parser reads both documents alike.
        foreach (var policy in fromApi.Policies)
            Assert.NotEmpty(PolicyParser.ParseDocument(policy.Document, policy.Source.FileName, policy.Source.Document).Policies);
        Assert.StartsWith("apiserver:ciliumnetworkpolicies/", fromApi.Policies[0].Source.ToString());
    }

    [Fact]
    public async Task The_control_plane_compiles_a_service_watched_from_the_API_into_a_frontend_and_follows_its_slices()
    {
        await using var env = await ApiTestEnvironment.StartAsync();
        env.Server.Put(KubeResource.Services, ApiObjects.Service("default", "web", "10.96.0.50", port: 80));
        env.Server.Put(KubeResource.EndpointSlices, ApiObjects.EndpointSlice("default", "web-a", "web", "10.0.1.5", "10.0.1.6"));
        ForwardingSnapshot? latest = null;
        await using var plane = new MeshControlPlane(new MeshControlPlaneOptions
        {
            ClusterName = "tokyo",
            ClusterId = 1,
            Maglev = MaglevParameters.Create(251, MaglevParameters.DefaultSeedBase64),
            Kubernetes = env.Source(),
            Log = _ => { },
        }, snapshot => Volatile.Write(ref latest, snapshot));
        await plane.StartAsync(CancellationToken.None);

        string[] Backends()
        {
            var snapshot = Volatile.Read(ref latest);
            var frontend = snapshot?.FindFrontend(NetAddress.Parse("10.96.0.50"),
                System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((ushort)80), (byte)L4Protocol.Tcp);
            if (snapshot is null || frontend is null)
                return ["<no frontend>"];
            return frontend.Table.ToArray().Where(id => id != 0).Distinct()
                .Select(id => snapshot.Backend(id)).Select(b => $"{b.Address}:{b.Port}").Order().ToArray();
        }

        Assert.Equal(["10.0.1.5:8080", "10.0.1.6:8080"], Backends());
        await Wait.UntilAsync(() => env.Server.WatchesOf(KubeResource.EndpointSlices).Any(), "the slices watch");
        env.Server.Event(KubeResource.EndpointSlices, "MODIFIED", ApiObjects.EndpointSlice("default", "web-a", "web", "10.0.1.7"));
        string[] actual = [];
        await Wait.UntilAsync(() => (actual = Backends()).SequenceEqual(["10.0.1.7:8080"]), "the modified slice in the table",
            state: () => $"table holds [{string.Join(", ", actual)}]");
    }

    /// <summary>Puts every Service, EndpointSlice, CNP and CCNP of the fixture files into the fake server, as JSON.</summary>
    private static int Serve(FakeKubeApiServer server, string directory)
    {
        int count = 0;
        foreach (string file in Directory.GetFiles(directory, "*.y*ml"))
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(file)));
            foreach (var document in stream.Documents)
            {
                if (document.RootNode is not YamlMappingNode root)
                    continue;
                var obj = YamlToJson.Convert(root)!.AsObject();
                var objects = ((string?)obj["kind"])?.EndsWith("List") == true
                    ? obj["items"]!.AsArray().Select(i => i!.AsObject())
                    : [obj];
                foreach (var item in objects)
                {
                    var resource = KubeResource.All.FirstOrDefault(r => r.Kind == (string?)item["kind"]);
                    if (resource is null)
                        continue; // a Deployment: not watched
                    var metadata = item["metadata"]!.AsObject();
                    if (!resource.Kind.Contains("Clusterwide") && metadata["namespace"] is null)
                        metadata["namespace"] = "default"; // the API server fills it in
                    server.Put(resource, (JsonObject)item.DeepClone());
                    count++;
                }
            }
        }
        return count;
    }

    private static string DescribeService(LocalService s) =>
        $"{s.Name} ips=[{string.Join(",", s.ClusterIPs)}] ports=[{string.Join(",", s.Ports.Select(p => $"{p.Name}/{p.Protocol}/{p.Port}->{p.TargetPort}"))}] " +
        $"global={s.Global} shared={s.Shared} affinity={s.Affinity} annotations={Map(s.Annotations)} labels={Map(s.Labels)} selector={Map(s.Selector)}";

    private static string DescribeSlice(LocalEndpointSlice s) =>
        $"{s.Namespace}/{s.Name} service={s.ServiceName} ports=[{string.Join(",", s.Ports.Select(p => $"{p.Name}/{p.Protocol}/{p.Port}"))}] " +
        $"endpoints=[{string.Join(",", s.Endpoints.Select(e => $"{string.Join("+", e.Addresses)} r={e.Ready} s={e.Serving} t={e.Terminating} node={e.NodeName} pod={e.PodName}"))}]";

    private static string DescribePolicy(PolicyDocument p) => $"{p.Kind} {p.Namespace}/{p.Name} {Canonical(p.Document, "")}";

    private static string Map(IEnumerable<KeyValuePair<string, string>> map) => string.Join(";", map.Select(p => $"{p.Key}={p.Value}"));

    /// <summary>A YAML tree as sorted "path=value" lines with values typed as JSON, the server-set resourceVersion and namespace left out.</summary>
    private static string Canonical(YamlNode node, string path)
    {
        var text = new StringBuilder();
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (key, value) in mapping.Children.OrderBy(p => ((YamlScalarNode)p.Key).Value, StringComparer.Ordinal))
                {
                    string child = $"{path}.{((YamlScalarNode)key).Value}";
                    // Set by the API server (a manifest may leave the namespace out; PolicyDocument.Namespace is compared above).
                    if (child is not (".metadata.resourceVersion" or ".metadata.namespace"))
                        text.Append(Canonical(value, child));
                }
                break;
            case YamlSequenceNode sequence:
                for (int i = 0; i < sequence.Children.Count; i++)
                    text.Append(Canonical(sequence.Children[i], $"{path}[{i}]"));
                break;
            case YamlScalarNode scalar:
                // Compare what the scalar means, not how it is written: a plain scalar that resolves to a string
                // equals a quoted one (JSON strings arrive quoted); a number or bool must stay one.
                bool plain = scalar.Style is YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any;
                var resolved = plain ? YamlToJson.Convert(scalar) : System.Text.Json.Nodes.JsonValue.Create(scalar.Value ?? "");
                text.Append(path).Append('=').Append(resolved?.ToJsonString() ?? "null").Append('\n');
                break;
        }
        return text.ToString();
    }
}

using System.Collections.Immutable;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using static FastPath.ControlPlane.Kubernetes.Manifests.YamlFields;

namespace FastPath.ControlPlane.Kubernetes.Manifests;

/// <summary>
/// Turns one manifest file (YAML as <c>kubectl get -o yaml</c> prints it: several documents separated
/// by <c>---</c>, or a <c>kind: List</c> / <c>kind: ServiceList</c> with <c>items:</c>) into objects.
/// Unknown kinds are skipped with a debug note; anything wrong in a kind we use throws
/// <see cref="ManifestException"/> naming file, document and path.
/// </summary>
internal static class ManifestParser
{
    // The namespace kubectl and the API server give an object whose manifest names none.
    public const string DefaultNamespace = "default";

    public static ManifestFileContent Parse(string fileName, string text, Action<string>? debug = null)
    {
        var stream = new YamlStream();
        var parser = new Parser(new StringReader(text));
        try
        {
            stream.Load(parser);
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
            // YamlStream adds documents as it reads them, so the count so far tells which one broke.
            // YamlDotNet reports some structural errors as InvalidOperationException without a
            // position; the parser's current event then says where it stopped.
            var mark = e is YamlException y ? y.Start : parser.Current?.Start ?? Mark.Empty;
            string problem = e is YamlException ? e.InnerException?.Message ?? e.Message : "unexpected structure near here (an unclosed bracket or quote, or bad indentation?)";
            throw new ManifestException(fileName, stream.Documents.Count + 1, "",
                $"malformed YAML at line {mark.Line} column {mark.Column}: {problem}", e);
        }

        var services = ImmutableArray.CreateBuilder<LocalService>();
        var slices = ImmutableArray.CreateBuilder<LocalEndpointSlice>();
        var policies = ImmutableArray.CreateBuilder<PolicyDocument>();
        for (int d = 0; d < stream.Documents.Count; d++)
        {
            int document = d + 1;
            var root = stream.Documents[d].RootNode;
            if (IsNull(root))
                continue; // an empty document, e.g. a trailing "---"
            try
            {
                var mapping = ItemMapping(root, "(document)");
                if (OptionalSequence(mapping, "items", "") is { } items && IsListKind(mapping))
                {
                    for (int i = 0; i < items.Children.Count; i++)
                    {
                        string itemPath = Index("items", i);
                        var item = ItemMapping(items.Children[i], itemPath);
                        Decode(item, itemPath, new ManifestLocation(fileName, document, itemPath), services, slices, policies, debug);
                    }
                }
                else
                {
                    Decode(mapping, "", new ManifestLocation(fileName, document), services, slices, policies, debug);
                }
            }
            catch (ManifestFormatException e)
            {
                throw new ManifestException(fileName, document, e.Path, e.Problem, e);
            }
        }
        return new ManifestFileContent(services.ToImmutable(), slices.ToImmutable(), policies.ToImmutable());
    }

    private static bool IsListKind(YamlMappingNode mapping) =>
        OptionalString(mapping, "kind", "") is { } kind && kind.EndsWith("List", StringComparison.Ordinal);

    private static void Decode(
        YamlMappingNode root, string path, ManifestLocation source,
        ImmutableArray<LocalService>.Builder services,
        ImmutableArray<LocalEndpointSlice>.Builder slices,
        ImmutableArray<PolicyDocument>.Builder policies,
        Action<string>? debug)
    {
        string kind = RequiredString(root, "kind", path);
        string apiVersion = OptionalString(root, "apiVersion", path) ?? "";
        switch (kind)
        {
            // Kind alone is not enough: other API groups also have a "Service" (Knative, for one).
            case "Service" when apiVersion == "v1":
                services.Add(ServiceDecoder.Decode(root, path, source));
                break;
            case "EndpointSlice" when apiVersion.StartsWith("discovery.k8s.io/", StringComparison.Ordinal):
                slices.Add(EndpointSliceDecoder.Decode(root, path, source));
                break;
            case PolicyDocument.CiliumNetworkPolicyKind or PolicyDocument.CiliumClusterwideNetworkPolicyKind
                when apiVersion.StartsWith("cilium.io/", StringComparison.Ordinal):
                policies.Add(PolicyDocumentDecoder.Decode(kind, root, path, source));
                break;
            default:
                debug?.Invoke($"{source}: ignoring kind {kind} ({apiVersion})");
                break;
        }
    }
}

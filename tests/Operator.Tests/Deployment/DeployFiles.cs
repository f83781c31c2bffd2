using Datapath.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Operator.Tests.Deployment;

/// <summary>One Kubernetes object read from a YAML file under deploy/ (which file, which document).</summary>
public sealed record ManifestObject(string File, int Document, YamlMappingNode Root)
{
    public string Kind => Text(Root, "kind") ?? "";
    public string Name => Text(Root, "metadata", "name") ?? "";
    public override string ToString() => $"{Path.GetRelativePath(RepoPaths.Root, File)}#{Document} {Kind}/{Name}";

    /// <summary>The scalar at a path of mapping keys, or null when any step is missing.</summary>
    public static string? Text(YamlNode node, params string[] path) => At(node, path) is YamlScalarNode s ? s.Value : null;

    public static YamlNode? At(YamlNode node, params string[] path)
    {
        YamlNode? current = node;
        foreach (string key in path)
        {
            if (current is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out current))
                return null;
        }
        return current;
    }

    public static IEnumerable<YamlNode> Items(YamlNode node, params string[] path) =>
        At(node, path) is YamlSequenceNode seq ? seq.Children : Enumerable.Empty<YamlNode>();
}

/// <summary>The files under deploy/: every YAML document parsed (multi-document files included).</summary>
public static class DeployFiles
{
    public static string Directory => Path.Combine(RepoPaths.Root, "deploy");
    public static string Kustomize => Path.Combine(Directory, "kustomize");
    public static string Dockerfile => Path.Combine(Directory, "Dockerfile");

    public static IReadOnlyList<string> YamlFiles { get; } = System.IO.Directory
        .EnumerateFiles(Directory, "*.*", SearchOption.AllDirectories)
        .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal).ToList();

    /// <summary>Every document of every YAML file; a file that does not parse fails with its name.</summary>
    public static IReadOnlyList<ManifestObject> AllDocuments { get; } = YamlFiles.SelectMany(Load).ToList();

    /// <summary>The Kubernetes objects (kustomization.yaml files are kustomize's, not the API server's).</summary>
    public static IReadOnlyList<ManifestObject> Objects => AllDocuments.Where(d => d.Kind != "Kustomization").ToList();

    public static IReadOnlyList<ManifestObject> Load(string file)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(file);
            stream.Load(reader);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new InvalidOperationException($"{file}: not valid YAML: {e.Message}", e);
        }
        var documents = new List<ManifestObject>();
        for (int i = 0; i < stream.Documents.Count; i++)
        {
            if (stream.Documents[i].RootNode is not YamlMappingNode root)
                throw new InvalidOperationException($"{file} document {i}: expected a mapping at the top");
            documents.Add(new ManifestObject(file, i, root));
        }
        return documents;
    }

    public static ManifestObject Single(string kind, string name, string? under = null) =>
        Objects.Single(o => o.Kind == kind && o.Name == name && (under is null || o.File.StartsWith(under, StringComparison.Ordinal)));

    /// <summary>A ConfigMap's data as a dictionary (every value a string, as the API requires).</summary>
    public static Dictionary<string, string> Data(ManifestObject configMap)
    {
        var data = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ManifestObject.At(configMap.Root, "data") is YamlMappingNode map)
            foreach (var (key, value) in map.Children)
                data[((YamlScalarNode)key).Value!] = value is YamlScalarNode s ? s.Value ?? ""
                    : throw new InvalidOperationException($"{configMap}: data.{key} is not a string");
        return data;
    }
}

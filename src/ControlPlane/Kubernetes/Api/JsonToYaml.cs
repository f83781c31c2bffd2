using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>
/// Turns an API object (JSON) into the YAML tree the manifest decoders and the policy parser read, so
/// both sources share one conversion. JSON strings become quoted scalars (so the string "null" or "80"
/// stays a string, as it would quoted in a manifest), numbers and booleans plain scalars, and JSON null
/// a plain <c>null</c> (which the decoders treat as absent, as in YAML).
/// </summary>
internal static class JsonToYaml
{
    /// <summary>Deepest nesting accepted; API objects are a dozen levels deep at most.</summary>
    private const int MaxDepth = 64;

    public static YamlNode Convert(JsonElement element) => Convert(element, 0);

    private static YamlNode Convert(JsonElement element, int depth)
    {
        if (depth > MaxDepth)
            throw new JsonException($"nested deeper than {MaxDepth} levels");
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var mapping = new YamlMappingNode();
                foreach (var property in element.EnumerateObject())
                    mapping.Children[new YamlScalarNode(property.Name)] = Convert(property.Value, depth + 1);
                return mapping;
            case JsonValueKind.Array:
                var sequence = new YamlSequenceNode();
                foreach (var item in element.EnumerateArray())
                    sequence.Children.Add(Convert(item, depth + 1));
                return sequence;
            case JsonValueKind.String:
                return new YamlScalarNode(element.GetString()) { Style = ScalarStyle.DoubleQuoted };
            case JsonValueKind.Number:
                return new YamlScalarNode(element.GetRawText()) { Style = ScalarStyle.Plain };
            case JsonValueKind.True:
                return new YamlScalarNode("true") { Style = ScalarStyle.Plain };
            case JsonValueKind.False:
                return new YamlScalarNode("false") { Style = ScalarStyle.Plain };
            default:
                return new YamlScalarNode("null") { Style = ScalarStyle.Plain };
        }
    }
}

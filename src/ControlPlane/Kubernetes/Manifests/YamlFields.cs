using System.Collections.Immutable;
using System.Globalization;
using FastPath.Addressing;
using YamlDotNet.RepresentationModel;

namespace FastPath.ControlPlane.Kubernetes.Manifests;

/// <summary>
/// Typed reads from a YAML tree, each naming the path it reads (<c>spec.ports[0].port</c>) so a wrong
/// value fails with a message the operator can act on. Only control-plane code, never per packet.
/// </summary>
internal static class YamlFields
{
    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    public static string Index(string path, int index) => $"{path}[{index}]";

    public static YamlNode? Get(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var node) && !IsNull(node) ? node : null;

    public static YamlMappingNode? OptionalMapping(YamlMappingNode map, string key, string path)
    {
        var node = Get(map, key);
        if (node is null)
            return null;
        return node as YamlMappingNode
            ?? throw new ManifestFormatException(Join(path, key), $"expected a mapping, got {Describe(node)}");
    }

    public static YamlMappingNode RequiredMapping(YamlMappingNode map, string key, string path) =>
        OptionalMapping(map, key, path) ?? throw Missing(Join(path, key));

    public static YamlSequenceNode? OptionalSequence(YamlMappingNode map, string key, string path)
    {
        var node = Get(map, key);
        if (node is null)
            return null;
        return node as YamlSequenceNode
            ?? throw new ManifestFormatException(Join(path, key), $"expected a list, got {Describe(node)}");
    }

    public static YamlMappingNode ItemMapping(YamlNode node, string path) =>
        node as YamlMappingNode ?? throw new ManifestFormatException(path, $"expected a mapping, got {Describe(node)}");

    /// <summary>Decodes every item of an optional sequence of mappings (absent or null → empty),
    /// giving <paramref name="decode"/> the item and its path (<c>path.key[i]</c>) for error messages.</summary>
    public static ImmutableArray<T> MappingItems<T>(YamlMappingNode map, string key, string path,
        Func<YamlMappingNode, string, T> decode)
    {
        var list = OptionalSequence(map, key, path);
        if (list is null)
            return [];
        string listPath = Join(path, key);
        var builder = ImmutableArray.CreateBuilder<T>(list.Children.Count);
        for (int i = 0; i < list.Children.Count; i++)
        {
            string itemPath = Index(listPath, i);
            builder.Add(decode(ItemMapping(list.Children[i], itemPath), itemPath));
        }
        return builder.MoveToImmutable();
    }

    public static string? OptionalString(YamlMappingNode map, string key, string path)
    {
        var node = Get(map, key);
        if (node is null)
            return null;
        return node is YamlScalarNode scalar
            ? scalar.Value ?? ""
            : throw new ManifestFormatException(Join(path, key), $"expected a string, got {Describe(node)}");
    }

    public static string RequiredString(YamlMappingNode map, string key, string path)
    {
        string? value = OptionalString(map, key, path);
        return string.IsNullOrEmpty(value) ? throw Missing(Join(path, key)) : value;
    }

    /// <summary>A port number 1..65535, or 0 when absent and <paramref name="required"/> is false.</summary>
    public static ushort Port(YamlMappingNode map, string key, string path, bool required)
    {
        var node = Get(map, key);
        if (node is null)
            return required ? throw Missing(Join(path, key)) : (ushort)0;
        if (node is YamlScalarNode { Value: { } text }
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            && port is >= 1 and <= ushort.MaxValue)
            return (ushort)port;
        throw new ManifestFormatException(Join(path, key), $"expected an integer 1-65535, got {Describe(node)}");
    }

    /// <summary>A boolean condition; null when absent (Kubernetes gives absent conditions a meaning).</summary>
    public static bool? OptionalBool(YamlMappingNode map, string key, string path)
    {
        var node = Get(map, key);
        if (node is null)
            return null;
        if (node is YamlScalarNode { Value: { } text } && bool.TryParse(text, out bool value))
            return value;
        throw new ManifestFormatException(Join(path, key), $"expected true or false, got {Describe(node)}");
    }

    /// <summary>Protocol TCP/UDP/SCTP; Kubernetes defaults an absent one to TCP.</summary>
    public static L4Protocol Protocol(YamlMappingNode map, string key, string path)
    {
        string? text = OptionalString(map, key, path);
        if (text is null)
            return L4Protocol.Tcp;
        if (L4ProtocolNames.TryParse(text, out var protocol) && protocol != L4Protocol.Any)
            return protocol;
        throw new ManifestFormatException(Join(path, key), $"expected TCP, UDP or SCTP, got \"{text}\"");
    }

    public static NetAddress Address(YamlNode node, string path)
    {
        if (node is YamlScalarNode { Value: { } text } && NetAddress.TryParse(text, out var address))
            return address;
        throw new ManifestFormatException(path, $"expected an IPv4 or IPv6 address, got {Describe(node)}");
    }

    /// <summary>A string-to-string map such as labels or annotations (scalar values of any style are taken as text).</summary>
    public static ImmutableSortedDictionary<string, string> StringMap(YamlMappingNode map, string key, string path)
    {
        var mapping = OptionalMapping(map, key, path);
        if (mapping is null)
            return ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
        var builder = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in mapping.Children)
        {
            string entryPath = $"{Join(path, key)}[\"{(k as YamlScalarNode)?.Value}\"]";
            if (k is not YamlScalarNode { Value: { } name })
                throw new ManifestFormatException(Join(path, key), $"expected string keys, got {Describe(k)}");
            builder[name] = v is YamlScalarNode scalar
                ? scalar.Value ?? ""
                : throw new ManifestFormatException(entryPath, $"expected a string, got {Describe(v)}");
        }
        return builder.ToImmutable();
    }

    public static ManifestFormatException Missing(string path) => new(path, "required field is missing");

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    public static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode scalar => $"\"{scalar.Value}\"",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => node.NodeType.ToString(),
    };
}

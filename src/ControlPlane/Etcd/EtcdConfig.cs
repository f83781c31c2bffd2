using System.Collections.Immutable;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FastPath.ControlPlane.Etcd;

/// <summary>
/// An etcd client YAML file as Cilium's clustermesh uses it (SPEC §5): <c>endpoints</c>,
/// <c>trusted-ca-file</c> (fallback <c>ca-file</c>), <c>cert-file</c>, <c>key-file</c>.
/// File paths are resolved relative to the YAML file's directory.
/// </summary>
public sealed record EtcdConfig(
    ImmutableArray<Uri> Endpoints,
    string? TrustedCaFile,
    string? CertFile,
    string? KeyFile,
    string? SourceFile = null)
{
    /// <summary>The marker a file must contain to count as a cluster config (SPEC §5).</summary>
    public const string EndpointsMarker = "endpoints:";

    /// <summary>True when the text names etcd endpoints; other files in a config directory are ignored.</summary>
    public static bool LooksLikeClusterConfig(string text) =>
        text.Contains(EndpointsMarker, StringComparison.Ordinal);

    /// <summary>Reads and validates one config file; every error names the file and what is wrong.</summary>
    public static EtcdConfig Load(string path)
    {
        string fullPath = Path.GetFullPath(path);
        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EtcdException($"etcd config {fullPath}: cannot read: {e.Message}", configFile: fullPath, inner: e);
        }
        return Parse(text, fullPath);
    }

    /// <summary>Parses YAML text; <paramref name="sourceFile"/> anchors relative paths and error messages.</summary>
    public static EtcdConfig Parse(string yamlText, string sourceFile)
    {
        YamlMappingNode root = ReadRoot(yamlText, sourceFile);
        string baseDir = Path.GetDirectoryName(Path.GetFullPath(sourceFile)) ?? ".";

        ImmutableArray<Uri> endpoints = ReadEndpoints(root, sourceFile);
        string? ca = ReadPath(root, "trusted-ca-file", baseDir, sourceFile) ?? ReadPath(root, "ca-file", baseDir, sourceFile);
        string? cert = ReadPath(root, "cert-file", baseDir, sourceFile);
        string? key = ReadPath(root, "key-file", baseDir, sourceFile);

        if ((cert is null) != (key is null))
            throw Bad(sourceFile, "cert-file and key-file must be given together");
        bool anyTls = false;
        foreach (Uri endpoint in endpoints)
            anyTls |= endpoint.Scheme == Uri.UriSchemeHttps;
        if (anyTls && ca is null)
            throw Bad(sourceFile, "an https:// endpoint needs trusted-ca-file (or ca-file): the server is validated against that CA only");
        return new EtcdConfig(endpoints, ca, cert, key, sourceFile);
    }

    private static YamlMappingNode ReadRoot(string yamlText, string sourceFile)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yamlText));
        }
        catch (YamlException e)
        {
            throw new EtcdException(
                $"etcd config {sourceFile}: invalid YAML at line {e.Start.Line}, column {e.Start.Column}: {e.Message}",
                configFile: sourceFile, inner: e);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this (without a position) on some truncated flow sequences.
            throw new EtcdException($"etcd config {sourceFile}: invalid YAML (unterminated [ ] or {{ }}?): {e.Message}",
                configFile: sourceFile, inner: e);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw Bad(sourceFile, "expected a YAML mapping with an 'endpoints:' list at the top level");
        return root;
    }

    private static ImmutableArray<Uri> ReadEndpoints(YamlMappingNode root, string sourceFile)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode("endpoints"), out YamlNode? node))
            throw Bad(sourceFile, "missing 'endpoints:'");
        var texts = new List<string>();
        switch (node)
        {
            case YamlSequenceNode seq:
                foreach (YamlNode item in seq)
                {
                    if (item is not YamlScalarNode { Value: { } v })
                        throw Bad(sourceFile, "'endpoints:' items must be URLs like https://host:2379");
                    texts.Add(v);
                }
                break;
            case YamlScalarNode { Value: { Length: > 0 } single }:
                texts.Add(single);
                break;
            default:
                throw Bad(sourceFile, "'endpoints:' must be a list of URLs like https://host:2379");
        }
        if (texts.Count == 0)
            throw Bad(sourceFile, "'endpoints:' is empty");

        var builder = ImmutableArray.CreateBuilder<Uri>(texts.Count);
        foreach (string t in texts)
        {
            if (!Uri.TryCreate(t.Trim(), UriKind.Absolute, out Uri? uri)
                || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
                throw Bad(sourceFile, $"endpoint '{t}' is not an http:// or https:// URL");
            builder.Add(uri);
        }
        return builder.MoveToImmutable();
    }

    private static string? ReadPath(YamlMappingNode root, string key, string baseDir, string sourceFile)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? node))
            return null;
        if (node is not YamlScalarNode scalar)
            throw Bad(sourceFile, $"'{key}' must be a file path");
        if (string.IsNullOrWhiteSpace(scalar.Value))
            return null;
        return Path.GetFullPath(scalar.Value.Trim(), baseDir);
    }

    private static EtcdException Bad(string sourceFile, string what) =>
        new($"etcd config {sourceFile}: {what}", configFile: sourceFile);
}

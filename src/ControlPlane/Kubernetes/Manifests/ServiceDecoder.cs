using System.Collections.Immutable;
using FastPath.Addressing;
using FastPath.ControlPlane.Model;
using YamlDotNet.RepresentationModel;
using static FastPath.ControlPlane.Kubernetes.Manifests.YamlFields;

namespace FastPath.ControlPlane.Kubernetes.Manifests;

/// <summary>Reads a v1 Service as <c>kubectl get -o yaml</c> prints it (SPEC §3).</summary>
internal static class ServiceDecoder
{
    // spec.clusterIP value of a headless service: it has no virtual IP, hence no frontend.
    private const string HeadlessClusterIP = "None";

    public static LocalService Decode(YamlMappingNode root, string path, ManifestLocation source)
    {
        var metadata = RequiredMapping(root, "metadata", path);
        string metadataPath = Join(path, "metadata");
        string name = RequiredString(metadata, "name", metadataPath);
        string ns = OptionalString(metadata, "namespace", metadataPath) is { Length: > 0 } n ? n : ManifestParser.DefaultNamespace;
        var annotations = StringMap(metadata, "annotations", metadataPath);
        var labels = StringMap(metadata, "labels", metadataPath);

        var spec = RequiredMapping(root, "spec", path);
        string specPath = Join(path, "spec");
        var selector = StringMap(spec, "selector", specPath);

        return new LocalService(
            new ServiceName(ns, name),
            ClusterIPs(spec, specPath),
            Ports(spec, specPath),
            ServiceAnnotations.IsGlobal(annotations),
            ServiceAnnotations.IsShared(annotations),
            ServiceAnnotations.AffinityOf(annotations),
            annotations,
            labels,
            selector,
            source);
    }

    private static ImmutableArray<NetAddress> ClusterIPs(YamlMappingNode spec, string specPath)
    {
        // clusterIPs (dual-stack) supersedes clusterIP; its first entry equals clusterIP.
        var list = OptionalSequence(spec, "clusterIPs", specPath);
        var builder = ImmutableArray.CreateBuilder<NetAddress>();
        if (list is not null)
        {
            for (int i = 0; i < list.Children.Count; i++)
            {
                var node = list.Children[i];
                if (node is YamlScalarNode { Value: HeadlessClusterIP })
                    return [];
                var address = Address(node, Index(Join(specPath, "clusterIPs"), i));
                if (!builder.Contains(address))
                    builder.Add(address);
            }
            return builder.ToImmutable();
        }

        string? single = OptionalString(spec, "clusterIP", specPath);
        if (string.IsNullOrEmpty(single) || single == HeadlessClusterIP)
            return [];
        return [Address(new YamlScalarNode(single), Join(specPath, "clusterIP"))];
    }

    private static ImmutableArray<LocalServicePort> Ports(YamlMappingNode spec, string specPath) =>
        MappingItems(spec, "ports", specPath, (port, portPath) => new LocalServicePort(
            OptionalString(port, "name", portPath) ?? "",
            Protocol(port, "protocol", portPath),
            Port(port, "port", portPath, required: true),
            OptionalString(port, "targetPort", portPath) ?? ""));
}

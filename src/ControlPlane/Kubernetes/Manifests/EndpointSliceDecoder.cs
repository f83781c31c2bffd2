using System.Collections.Immutable;
using FastPath.Addressing;
using YamlDotNet.RepresentationModel;
using static FastPath.ControlPlane.Kubernetes.Manifests.YamlFields;

namespace FastPath.ControlPlane.Kubernetes.Manifests;

/// <summary>Reads a discovery.k8s.io/v1 EndpointSlice as <c>kubectl get -o yaml</c> prints it (SPEC §3).</summary>
internal static class EndpointSliceDecoder
{
    public static LocalEndpointSlice Decode(YamlMappingNode root, string path, ManifestLocation source)
    {
        var metadata = RequiredMapping(root, "metadata", path);
        string metadataPath = Join(path, "metadata");
        string name = RequiredString(metadata, "name", metadataPath);
        string ns = OptionalString(metadata, "namespace", metadataPath) is { Length: > 0 } n ? n : ManifestParser.DefaultNamespace;
        var labels = StringMap(metadata, "labels", metadataPath);
        // Without this label the slice belongs to no Service; the merge could not use it, so say so now.
        if (!labels.TryGetValue(LocalEndpointSlice.ServiceNameLabel, out var serviceName) || serviceName.Length == 0)
            throw Missing($"{metadataPath}.labels[\"{LocalEndpointSlice.ServiceNameLabel}\"]");

        return new LocalEndpointSlice(ns, name, serviceName, Endpoints(root, path), Ports(root, path), source);
    }

    // Kubernetes prints "endpoints: null" for a slice with no endpoints; treat absent and null alike.
    private static ImmutableArray<LocalEndpoint> Endpoints(YamlMappingNode root, string path) =>
        MappingItems(root, "endpoints", path, Endpoint);

    private static LocalEndpoint Endpoint(YamlMappingNode endpoint, string endpointPath)
    {
        var addresses = OptionalSequence(endpoint, "addresses", endpointPath);
        if (addresses is null || addresses.Children.Count == 0)
            throw Missing(Join(endpointPath, "addresses"));
        var addressBuilder = ImmutableArray.CreateBuilder<NetAddress>(addresses.Children.Count);
        for (int a = 0; a < addresses.Children.Count; a++)
            addressBuilder.Add(Address(addresses.Children[a], Index(Join(endpointPath, "addresses"), a)));

        var conditions = OptionalMapping(endpoint, "conditions", endpointPath);
        string conditionsPath = Join(endpointPath, "conditions");
        // Kubernetes semantics for unset conditions: ready unknown = ready; serving unset = ready; terminating unset = false.
        bool ready = (conditions is null ? null : OptionalBool(conditions, "ready", conditionsPath)) ?? true;
        bool serving = (conditions is null ? null : OptionalBool(conditions, "serving", conditionsPath)) ?? ready;
        bool terminating = (conditions is null ? null : OptionalBool(conditions, "terminating", conditionsPath)) ?? false;

        string? podName = null;
        if (OptionalMapping(endpoint, "targetRef", endpointPath) is { } targetRef
            && OptionalString(targetRef, "kind", Join(endpointPath, "targetRef")) == "Pod")
            podName = OptionalString(targetRef, "name", Join(endpointPath, "targetRef"));

        return new LocalEndpoint(
            addressBuilder.MoveToImmutable(), ready, serving, terminating,
            OptionalString(endpoint, "nodeName", endpointPath), podName);
    }

    private static ImmutableArray<EndpointSlicePort> Ports(YamlMappingNode root, string path) =>
        MappingItems(root, "ports", path, (port, portPath) => new EndpointSlicePort(
            OptionalString(port, "name", portPath) ?? "",
            Protocol(port, "protocol", portPath),
            Port(port, "port", portPath, required: false)));
}

using YamlDotNet.RepresentationModel;
using static FastPath.ControlPlane.Kubernetes.Manifests.YamlFields;

namespace FastPath.ControlPlane.Kubernetes.Manifests;

/// <summary>
/// Wraps a CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy tree as a <see cref="PolicyDocument"/>
/// (name and namespace only; the policy compiler interprets the rest). Shared by the manifest files
/// and the API server source so both hand the compiler the same document.
/// </summary>
internal static class PolicyDocumentDecoder
{
    public static PolicyDocument Decode(string kind, YamlMappingNode root, string path, ManifestLocation source)
    {
        var metadata = RequiredMapping(root, "metadata", path);
        string metadataPath = Join(path, "metadata");
        string name = RequiredString(metadata, "name", metadataPath);
        string? ns = kind == PolicyDocument.CiliumClusterwideNetworkPolicyKind
            ? null
            : OptionalString(metadata, "namespace", metadataPath) is { Length: > 0 } n ? n : ManifestParser.DefaultNamespace;
        return new PolicyDocument(kind, ns, name, root, source);
    }
}

using YamlDotNet.RepresentationModel;

namespace FastPath.ControlPlane.Kubernetes;

/// <summary>
/// A CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy kept as its parsed YAML tree; the
/// policy compiler interprets it (SPEC §7). Treat <see cref="Document"/> as read-only: snapshots
/// share it, and YamlDotNet nodes are mutable.
/// </summary>
/// <param name="Kind"><see cref="CiliumNetworkPolicyKind"/> or <see cref="CiliumClusterwideNetworkPolicyKind"/>.</param>
/// <param name="Namespace">metadata.namespace ("default" when absent); null for the clusterwide kind.</param>
public sealed record PolicyDocument(
    string Kind,
    string? Namespace,
    string Name,
    YamlMappingNode Document,
    ManifestLocation Source)
{
    public const string CiliumNetworkPolicyKind = "CiliumNetworkPolicy";
    public const string CiliumClusterwideNetworkPolicyKind = "CiliumClusterwideNetworkPolicy";

    public bool IsClusterwide => Kind == CiliumClusterwideNetworkPolicyKind;
}

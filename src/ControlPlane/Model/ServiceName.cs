namespace FastPath.ControlPlane.Model;

/// <summary>namespace/name of a Kubernetes service; the key clusters agree on.</summary>
public sealed record ServiceName(string Namespace, string Name)
{
    public override string ToString() => $"{Namespace}/{Name}";
}

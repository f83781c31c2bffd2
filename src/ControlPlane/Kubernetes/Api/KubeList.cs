using System.Text.Json;

namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>The result of a (paginated) list: every item, and the resource version to watch from.</summary>
public sealed record KubeList(IReadOnlyList<JsonElement> Items, string ResourceVersion, int Pages);

namespace FastPath.ControlPlane.Kubernetes.Manifests;

/// <summary>A problem at a path inside one document; <see cref="ManifestParser"/> adds file and document
/// and rethrows it as <see cref="ManifestException"/>.</summary>
internal sealed class ManifestFormatException(string path, string problem) : Exception($"{path}: {problem}")
{
    public string Path { get; } = path;
    public string Problem { get; } = problem;
}

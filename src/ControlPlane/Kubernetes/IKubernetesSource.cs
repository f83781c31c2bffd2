namespace FastPath.ControlPlane.Kubernetes;

/// <summary>
/// Where the local cluster's objects come from: a manifest directory
/// (<see cref="ManifestDirectorySource"/>, <c>--k8s-manifests</c>) or the API server
/// (<see cref="Api.ApiServerSource"/>, <c>--k8s-kubeconfig</c> / <c>--k8s-in-cluster</c>).
/// </summary>
public interface IKubernetesSource : IAsyncDisposable
{
    /// <summary>The latest snapshot; <see cref="KubernetesObjects.Empty"/> before start.</summary>
    KubernetesObjects Current { get; }

    /// <summary>Raised (on a background thread) after <see cref="Current"/> changed, with the new snapshot.
    /// Handlers must be quick and must not throw.</summary>
    event EventHandler<KubernetesObjects>? Changed;

    /// <summary>Loads the first snapshot and starts watching. Throws <see cref="ManifestException"/>
    /// (<see cref="Api.KubeApiException"/> for the API server) when the initial content is unusable: start-up must stop then.</summary>
    Task StartAsync(CancellationToken cancellationToken);
}

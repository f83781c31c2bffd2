namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>Tuning of <see cref="ApiServerSource"/>; the defaults suit a real cluster, tests shorten them.</summary>
public sealed record KubeApiSourceOptions
{
    /// <summary>Objects per list page (<c>limit</c>); the API server caps pages anyway.</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>Server-side watch duration (<c>timeoutSeconds</c>), randomised up to twice this (as client-go does)
    /// so the watches of many nodes do not all end together.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>First delay after a failed watch or list, in ms; doubled per failure up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Events arriving within this window after a change are published as one snapshot.</summary>
    public TimeSpan CoalesceDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Time allowed for one list page.</summary>
    public TimeSpan RequestTimeout { get; init; } = KubeApiClient.DefaultRequestTimeout;

    public Action<ManifestLogLevel, string>? Log { get; init; }
}

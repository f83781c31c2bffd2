namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>
/// Capped exponential backoff with jitter for re-watches and re-lists after a failure: initial, ×2 each
/// failure up to the cap, each delay scaled by a random factor in [0.8, 1.2) so a restarted API server is
/// not hit by every node of the cluster in the same millisecond.
/// </summary>
internal sealed class ReconnectBackoff(TimeSpan initial, TimeSpan max)
{
    private const double JitterLow = 0.8;
    private const double JitterSpan = 0.4;
    private int _failures;

    /// <summary>The delay before the next attempt; grows with each call until <see cref="Reset"/>.</summary>
    public TimeSpan Next()
    {
        double ms = Math.Min(max.TotalMilliseconds, initial.TotalMilliseconds * Math.Pow(2, Math.Min(_failures, 30)));
        _failures++;
        return TimeSpan.FromMilliseconds(ms * (JitterLow + Random.Shared.NextDouble() * JitterSpan));
    }

    public void Reset() => _failures = 0;
}

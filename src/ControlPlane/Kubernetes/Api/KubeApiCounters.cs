namespace FastPath.ControlPlane.Kubernetes.Api;

/// <summary>What the API server source has done so far (for the stats endpoint), summed over all resources.</summary>
/// <param name="Lists">Complete lists (all pages), start-up included.</param>
/// <param name="WatchRestarts">Watch requests after the first one per resource (server timeouts, drops, errors).</param>
/// <param name="GoneRelists">Re-lists forced by 410 Gone (resource version too old).</param>
/// <param name="MalformedEvents">Watch lines or objects that could not be used (skipped; the last good state stays).</param>
/// <param name="Errors">Failed requests and dropped connections (each retried with backoff).</param>
public sealed record KubeApiCounters(long Lists, long WatchRestarts, long GoneRelists, long MalformedEvents, long Errors);

/// <summary>Counters shared by the watchers of one source (summed into <see cref="KubeApiCounters"/>).</summary>
internal sealed class KubeApiCounterSet
{
    public long Lists;
    public long WatchRestarts;
    public long GoneRelists;
    public long MalformedEvents;
    public long Errors;

    public KubeApiCounters Snapshot() => new(
        Interlocked.Read(ref Lists), Interlocked.Read(ref WatchRestarts), Interlocked.Read(ref GoneRelists),
        Interlocked.Read(ref MalformedEvents), Interlocked.Read(ref Errors));
}

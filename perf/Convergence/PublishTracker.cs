using System.Diagnostics;
using FastPath.Snapshot;

namespace FastPath.Convergence;

/// <summary>
/// Sees every published snapshot (on the control plane's thread) and completes the one pending
/// expectation with the Stopwatch timestamp of the first snapshot that satisfies it.
/// </summary>
internal sealed class PublishTracker
{
    private readonly object _gate = new();
    private ForwardingSnapshot? _latest;
    private (Func<ForwardingSnapshot, bool> Condition, TaskCompletionSource<long> Done)? _pending;

    public void OnPublished(ForwardingSnapshot snapshot)
    {
        long now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            _latest = snapshot;
            if (_pending is { } p && p.Condition(snapshot))
            {
                _pending = null;
                p.Done.TrySetResult(now);
            }
        }
    }

    /// <summary>Arms an expectation before the write that should satisfy it.</summary>
    public Task<long> ExpectAsync(Func<ForwardingSnapshot, bool> condition)
    {
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_latest is { } latest && condition(latest))
                done.SetResult(Stopwatch.GetTimestamp());
            else
                _pending = (condition, done);
        }
        return done.Task;
    }

    public async Task<ForwardingSnapshot> WaitAsync(Func<ForwardingSnapshot, bool> condition, TimeSpan timeout)
    {
        await ExpectAsync(condition).WaitAsync(timeout);
        lock (_gate)
            return _latest!;
    }
}

using FastPath.Native;
using FastPath.NextHop;
using FastPath.Snapshot;

namespace FastPath.Runtime;

/// <summary>
/// Owns the current <see cref="ForwardingSnapshot"/> and keeps the XDP program's fp_services map
/// in step with it: a VIP is added to the map before the snapshot that serves it is published
/// (so a steered packet always finds its frontend) and removed only after the snapshot without it
/// is published (so the fast path never sees steered packets it cannot place). Workers read
/// <see cref="Current"/> once per batch; they never wait on a publish.
/// </summary>
public sealed class SnapshotPublisher
{
    private readonly BpfMap? _services;
    private readonly NeighbourResolver? _resolver;
    private readonly object _publishGate = new();
    private ForwardingSnapshot _current;

    /// <param name="services">fp_services, or null when no XDP program is loaded (unit tests).</param>
    /// <param name="resolver">Asked to resolve every backend's next hop before a snapshot goes live.</param>
    public SnapshotPublisher(ForwardingSnapshot initial, BpfMap? services, NeighbourResolver? resolver)
    {
        _current = initial;
        _services = services;
        _resolver = resolver;
    }

    public ForwardingSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Raised after each publish, with the publish latency in microseconds (map updates included).</summary>
    public event Action<ForwardingSnapshot, double>? Published;

    public void Publish(ForwardingSnapshot next)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        lock (_publishGate)
        {
            var previous = _current;
            var before = Keys(previous);
            var after = Keys(next);

            for (uint id = 1; id < (uint)next.BackendIdLimit; id++)
            {
                ref readonly var backend = ref next.Backend(id);
                if (backend.Status == BackendStatus.Active)
                    _resolver?.Want(backend.Address);
            }
            foreach (var key in after)
                if (!before.Contains(key))
                    _services?.Update(key, default(ServiceMapValue));

            Volatile.Write(ref _current, next);

            foreach (var key in before)
                if (!after.Contains(key))
                    _services?.Delete(key);
        }
        Published?.Invoke(next, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMicroseconds);
    }

    private static HashSet<ServiceMapKey> Keys(ForwardingSnapshot snapshot)
    {
        var keys = new HashSet<ServiceMapKey>();
        foreach (var frontend in snapshot.Frontends)
            keys.Add(new ServiceMapKey(frontend.Vip, System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(frontend.PortRaw), (Addressing.L4Protocol)frontend.Protocol));
        return keys;
    }
}

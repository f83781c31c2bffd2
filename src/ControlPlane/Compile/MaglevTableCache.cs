using FastPath.Maglev;

namespace FastPath.ControlPlane.Compile;

/// <summary>
/// Maglev tables by backend set, so a compile rebuilds only the frontends whose selected backends
/// (ids, addresses, weights) changed — without it every etcd write rebuilt every table (about
/// 4 s per write with 1,000 services, perf/README.md) — and frontends with identical backend
/// sets build once. Keeps exactly the tables the previous compile used: memory stays bounded by
/// the current state. Not thread-safe: the compiler's thread only.
/// </summary>
internal sealed class MaglevTableCache
{
    private Dictionary<BackendSet, uint[]> _current = new();
    private Dictionary<BackendSet, uint[]> _previous = new();

    public int Builds { get; private set; }

    public uint[] GetOrBuild(IReadOnlyCollection<MaglevBackend> backends, MaglevParameters parameters)
    {
        var key = new BackendSet(backends.OrderBy(b => b.Id).ToArray());
        if (_current.TryGetValue(key, out var table))
            return table;
        if (!_previous.TryGetValue(key, out table))
        {
            table = MaglevTableBuilder.Build(key.Items, parameters);
            Builds++;
        }
        _current[key] = table;
        return table;
    }

    /// <summary>Ends a compile: tables not used by it are forgotten.</summary>
    public void Rotate()
    {
        _previous = _current;
        _current = new Dictionary<BackendSet, uint[]>(_previous.Count);
    }

    /// <summary>Backends sorted by id; equal when every field of every backend is equal.</summary>
    private sealed class BackendSet(MaglevBackend[] items) : IEquatable<BackendSet>
    {
        private readonly int _hash = ComputeHash(items);

        public MaglevBackend[] Items { get; } = items;

        private static int ComputeHash(MaglevBackend[] items)
        {
            var hash = new HashCode();
            foreach (var item in items)
                hash.Add(item);
            return hash.ToHashCode();
        }

        public bool Equals(BackendSet? other) =>
            other is not null && _hash == other._hash && Items.AsSpan().SequenceEqual(other.Items);

        public override bool Equals(object? obj) => Equals(obj as BackendSet);
        public override int GetHashCode() => _hash;
    }
}

namespace FastPath.Agent.Stats;

/// <summary>
/// Fixed-bucket histogram of durations in seconds (snapshot publish latency). Written by the
/// publishing thread, read by scrapes; Interlocked keeps counts exact across the two.
/// </summary>
internal sealed class LatencyHistogram
{
    /// <summary>Upper bounds in seconds: 50 µs … 5 s, roughly ×2.5 apart (publishes are µs to ms).</summary>
    public static readonly double[] DefaultBoundsSeconds =
        [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    private readonly double[] _bounds;
    private readonly long[] _counts; // per bucket; last = above every bound
    private long _sumNanoseconds;

    public LatencyHistogram(double[]? boundsSeconds = null)
    {
        _bounds = boundsSeconds ?? DefaultBoundsSeconds;
        for (int i = 1; i < _bounds.Length; i++)
            if (_bounds[i] <= _bounds[i - 1])
                throw new ArgumentException("histogram bounds must be strictly increasing", nameof(boundsSeconds));
        _counts = new long[_bounds.Length + 1];
    }

    public ReadOnlySpan<double> Bounds => _bounds;

    public void Observe(double seconds)
    {
        int bucket = _bounds.Length;
        for (int i = 0; i < _bounds.Length; i++)
        {
            if (seconds <= _bounds[i])
            {
                bucket = i;
                break;
            }
        }
        Interlocked.Increment(ref _counts[bucket]);
        Interlocked.Add(ref _sumNanoseconds, (long)(seconds * 1e9));
    }

    /// <summary>A copy of the per-bucket counts (not cumulative) and the sum in seconds.</summary>
    public (long[] Counts, double SumSeconds) Read()
    {
        var counts = new long[_counts.Length];
        for (int i = 0; i < counts.Length; i++)
            counts[i] = Interlocked.Read(ref _counts[i]);
        return (counts, Interlocked.Read(ref _sumNanoseconds) / 1e9);
    }
}

using BenchmarkDotNet.Attributes;
using FastPath.Policy;

namespace FastPath.Benchmarks;

/// <summary>
/// Where does a Vector256 scan over a sorted identity array stop beating binary search?
/// The answer sets IdentitySet.VectorScanMaxCount. Each invocation does <see cref="Probes"/>
/// lookups, half hits and half misses, over sparse identities (stride 97, like identities
/// spread over a cluster's range) so the bitmap layout does not kick in for IdentitySet.
/// Results: src/FastPath/Policy/README.md.
/// </summary>
[MemoryDiagnoser]
public class IdentitySetBenchmarks
{
    private const int Probes = 1024;

    /// <summary>Passes over the probe array per invocation: keeps each iteration well above
    /// BenchmarkDotNet's 100 ms minimum on a 1–10 ns operation, which matters on a busy machine.</summary>
    private const int Passes = 32;
    private const int OpsPerInvoke = Probes * Passes;

    [Params(4, 16, 32, 64, 128, 256, 1024, 8192)]
    public int Size;

    private uint[] _sorted = Array.Empty<uint>();
    private uint[] _probes = Array.Empty<uint>();
    private IdentitySet _set = IdentitySet.Empty;
    private HashSet<uint> _hash = new();

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(20261122);
        // Cluster 2's range with 255 clusters starts at 2 << 16; stride 97 keeps it sparse.
        _sorted = Enumerable.Range(0, Size).Select(i => (2u << 16) + (uint)i * 97u).ToArray();
        _set = IdentitySet.Create(_sorted);
        _hash = new HashSet<uint>(_sorted);
        _probes = new uint[Probes];
        for (int i = 0; i < Probes; i++)
            _probes[i] = (i & 1) == 0 ? _sorted[random.Next(Size)] : _sorted[random.Next(Size)] + 1;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = OpsPerInvoke)]
    public int IdentitySetContains()
    {
        int hits = 0;
        for (int pass = 0; pass < Passes; pass++)
        {
            foreach (uint p in _probes)
                if (_set.Contains(p)) hits++;
        }
        return hits;
    }

    [Benchmark(OperationsPerInvoke = OpsPerInvoke)]
    public int VectorScanOnly()
    {
        int hits = 0;
        for (int pass = 0; pass < Passes; pass++)
        {
            foreach (uint p in _probes)
                if (IdentitySet.ContainsVector(_sorted, p)) hits++;
        }
        return hits;
    }

    [Benchmark(OperationsPerInvoke = OpsPerInvoke)]
    public int BranchlessBinaryOnly()
    {
        int hits = 0;
        for (int pass = 0; pass < Passes; pass++)
        {
            foreach (uint p in _probes)
                if (IdentitySet.ContainsBinary(_sorted, p)) hits++;
        }
        return hits;
    }

    [Benchmark(OperationsPerInvoke = OpsPerInvoke)]
    public int HashSetContains()
    {
        int hits = 0;
        for (int pass = 0; pass < Passes; pass++)
        {
            foreach (uint p in _probes)
                if (_hash.Contains(p)) hits++;
        }
        return hits;
    }

    [Benchmark(OperationsPerInvoke = OpsPerInvoke)]
    public int ArrayBinarySearch()
    {
        int hits = 0;
        for (int pass = 0; pass < Passes; pass++)
        {
            foreach (uint p in _probes)
                if (Array.BinarySearch(_sorted, p) >= 0) hits++;
        }
        return hits;
    }
}

using BenchmarkDotNet.Attributes;
using FastPath.Addressing;
using FastPath.Maglev;

namespace FastPath.Benchmarks.Maglev;

/// <summary>
/// Control-plane cost of (re)building one frontend's Maglev table into an existing buffer
/// (what a backend change costs per frontend). Target: ≤ 2 ms at M = 65521 with 1,000 backends.
/// </summary>
[MemoryDiagnoser]
public class MaglevBuildBenchmarks
{
    [Params(16381, 65521)]
    public int TableSize { get; set; }

    [Params(100, 1000)]
    public int Backends { get; set; }

    private MaglevBackend[] _backends = [];
    private MaglevParameters _parameters = MaglevParameters.Default;
    private uint[] _table = [];

    [GlobalSetup]
    public void Setup()
    {
        _parameters = MaglevParameters.Create(TableSize, MaglevParameters.DefaultSeedBase64);
        _table = new uint[TableSize];
        _backends = new MaglevBackend[Backends];
        for (int i = 0; i < Backends; i++)
            _backends[i] = new MaglevBackend((uint)(i + 1), NetAddress.Parse($"10.{i / 256}.{i % 256}.1"), 8080, L4Protocol.Tcp);
    }

    [Benchmark]
    public uint Build()
    {
        MaglevTableBuilder.Build(_backends, _parameters, _table);
        return _table[0];
    }
}

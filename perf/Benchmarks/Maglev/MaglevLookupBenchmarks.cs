using BenchmarkDotNet.Attributes;
using FastPath.Addressing;
using FastPath.Maglev;

namespace FastPath.Benchmarks.Maglev;

/// <summary>
/// Per-flow cost of picking a backend: the datapath hash plus the table index, as the pipeline
/// does it for a new flow. One operation = one lookup (OperationsPerInvoke flows per call).
/// </summary>
[MemoryDiagnoser]
public class MaglevLookupBenchmarks
{
    private const int FlowsPerInvoke = 1024;

    private readonly uint[] _clientsV4 = new uint[FlowsPerInvoke];
    private readonly NetAddress[] _clientsV6 = new NetAddress[FlowsPerInvoke];
    private readonly ushort[] _clientPorts = new ushort[FlowsPerInvoke];
    private uint[] _table = [];
    private MaglevParameters _parameters = MaglevParameters.Default;

    [GlobalSetup]
    public void Setup()
    {
        _parameters = MaglevParameters.Default;
        var backends = new MaglevBackend[100];
        for (int i = 0; i < backends.Length; i++)
            backends[i] = new MaglevBackend((uint)(i + 1), NetAddress.Parse($"10.1.{i}.1"), 8080, L4Protocol.Tcp);
        _table = MaglevTableBuilder.Build(backends, _parameters);

        var random = new Random(42);
        Span<byte> v6 = stackalloc byte[16];
        for (int i = 0; i < FlowsPerInvoke; i++)
        {
            _clientsV4[i] = (uint)random.NextInt64(0, 1L << 32);
            random.NextBytes(v6);
            _clientsV6[i] = NetAddress.FromV6(v6);
            _clientPorts[i] = (ushort)random.Next(1024, 65536);
        }
    }

    [Benchmark(OperationsPerInvoke = FlowsPerInvoke)]
    public uint LookupV4()
    {
        uint[] table = _table;
        uint seed = _parameters.LookupSeedV4;
        uint sum = 0;
        for (int i = 0; i < FlowsPerInvoke; i++)
            sum += table[MaglevHash.LookupV4(_clientsV4[i], 0x901f, _clientPorts[i], 6, seed) % (uint)table.Length];
        return sum;
    }

    [Benchmark(OperationsPerInvoke = FlowsPerInvoke)]
    public uint LookupV6()
    {
        uint[] table = _table;
        uint seed = _parameters.LookupSeedV6;
        uint sum = 0;
        for (int i = 0; i < FlowsPerInvoke; i++)
            sum += table[MaglevHash.LookupV6(_clientsV6[i], 0x901f, _clientPorts[i], 6, seed) % (uint)table.Length];
        return sum;
    }
}

using BenchmarkDotNet.Running;

namespace FastPath.Benchmarks;

/// <summary>
/// Entry point for every FastPath benchmark. BenchmarkSwitcher discovers all public benchmark
/// classes in this assembly, so adding a class (one file per area: Maglev/, Pipeline/, ...) is
/// enough. `--cpu-loop` times the same bodies by thread CPU time (see CpuLoop). Example: dotnet run -c Release --project perf/Benchmarks -- --filter '*Maglev*' --job short
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--cpu-loop")
        {
            CpuLoop.Run(args[1..]);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}

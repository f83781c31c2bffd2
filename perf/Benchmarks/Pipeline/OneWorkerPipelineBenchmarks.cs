namespace FastPath.Benchmarks.Pipeline;

/// <summary>
/// <see cref="PipelineBenchmarks"/> over the ct of an agent with one worker (one RX queue per
/// device, veth included), whose inserts claim slots without a CAS. Only the new-flow cases
/// differ from the base class's:
/// <c>dotnet run -c Release --project perf/Benchmarks -- --filter '*OneWorkerPipelineBenchmarks.NewFlow*'</c>.
/// </summary>
public class OneWorkerPipelineBenchmarks : PipelineBenchmarks
{
    public OneWorkerPipelineBenchmarks() => SingleInserter = true;
}

using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Datapath.Tests.Infrastructure;

namespace Datapath.Tests;

/// <summary>
/// Keeps the C reference of the per-packet work (perf/native/pf_pathref.c) from rotting: runs
/// <c>FastPath.Benchmarks --cpu-loop reference</c>, whose set-up refuses to time anything unless the C
/// rewrites the first 256 new-flow frames to exactly the pipeline's bytes, forwards every
/// established frame without creating a flow, and leaves two ct entries per new flow. Then every
/// case must print both timings and their ratio. The figures themselves are not judged here: speed
/// is measured in perf/, not in tests.
/// </summary>
public sealed class PathReferenceSmokeTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(180);
    private static readonly string[] Cases =
    [
        "established DNAT, one flow",
        "established DNAT, one flow, direct loop",
        "established DNAT, 64-frame batches",
        "established DNAT, 64-frame batches of 65,536 flows",
        "new flow, 65,536 into one table",
        "new flow, ct of 8,192 entries (in cache)",
        "new flow, 65,536 into one table, one worker",
        "new flow, ct of 8,192 entries (in cache), one worker",
    ];

    [Fact]
    public void The_C_reference_does_the_pipelines_work_and_every_case_is_timed_against_it()
    {
        string benchmarks = Path.Combine(RepoPaths.Root, "perf", "Benchmarks", "bin", "Release", "net10.0", "FastPath.Benchmarks.dll");
        Assert.True(File.Exists(benchmarks), $"{benchmarks} is missing: build the solution in Release first (./build.sh build)");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { benchmarks, "--cpu-loop", "reference" })
            psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the benchmark process");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Budget))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"--cpu-loop reference took more than {Budget.TotalSeconds} s\nstdout:\n{stdout.Result}\nstderr:\n{stderr.Result}");
        }
        process.WaitForExit();
        string context = $"exit {process.ExitCode}\nstdout:\n{stdout.Result}\nstderr:\n{stderr.Result}";
        Assert.True(process.ExitCode == 0, context);

        foreach (string name in Cases)
        {
            var line = Regex.Match(stdout.Result, $@"^{Regex.Escape(name)}\tC# ([0-9.]+)\tC ([0-9.]+)\tratio ([0-9.]+)$", RegexOptions.Multiline);
            Assert.True(line.Success, $"no timing line for '{name}'\n{context}");
            for (int group = 1; group <= 3; group++)
                Assert.True(double.Parse(line.Groups[group].Value, CultureInfo.InvariantCulture) > 0, $"'{name}': a zero figure\n{context}");
        }
    }
}

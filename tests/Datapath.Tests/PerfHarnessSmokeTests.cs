using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Datapath.Tests.Infrastructure;

namespace Datapath.Tests;

/// <summary>
/// Keeps the veth perf harness from rotting: runs <c>perf/run.sh --smoke</c> (topology drawn in
/// perf/harness/topology.sh: generator netns → node netns → sink netns, plus a direct
/// generator → sink link for the generator's ceiling) and checks that every system under test —
/// the generator alone, the C AF_XDP forwarder, FastPath with policy off (standalone) and on (mesh
/// mode, an allowing CiliumNetworkPolicy, etcd in the node netns), nftables DNAT and kernel
/// routing — delivered the generator's packets, that wrk got HTTP answers through each system that
/// load-balances or routes TCP, and that the policy-on system really enforces: with the policy
/// swapped for a denying one, nothing arrives and the agent counts policy_denied drops. The
/// harness tears its namespaces down on exit (trap EXIT); on a
/// timeout this test sends SIGTERM first so that trap runs.
/// </summary>
public sealed class PerfHarnessSmokeTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan GraceAfterTerm = TimeSpan.FromSeconds(15);
    private static readonly string[] Systems = ["generator", "fwd", "fastpath", "fastpath-policy", "nft", "routing"];
    private static readonly string[] HttpSystems = ["fastpath", "fastpath-policy", "nft", "routing"];

    [Fact]
    public void Smoke_run_delivers_packets_through_every_system_and_http_through_every_balancer()
    {
        var (exit, stdout, stderr) = RunSmoke();
        string context = $"exit {exit}\nstdout:\n{stdout}\nstderr:\n{stderr}";
        Assert.True(exit == 0, context);

        foreach (var system in Systems)
        {
            var match = Regex.Match(stdout, $@"^result: system={system} .*?\bsent=(\d+) delivered=(\d+)", RegexOptions.Multiline);
            Assert.True(match.Success, $"no result line for {system}\n{context}");
            long sent = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            long delivered = long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
            Assert.True(sent > 0, $"{system}: the generator sent nothing\n{context}");
            Assert.True(delivered > 0 && delivered <= sent, $"{system}: delivered {delivered} of {sent}\n{context}");
        }
        foreach (var system in HttpSystems)
        {
            var match = Regex.Match(stdout, $@"^wrk: system={system} \S+ requests_per_s=([0-9.]+)", RegexOptions.Multiline);
            Assert.True(match.Success, $"no wrk line for {system}\n{context}");
            Assert.True(double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) > 0, $"{system}: no HTTP answers\n{context}");
        }
        var check = Regex.Match(stdout, @"^policy-check: deny CNP delivered=(\d+) of \d+ policy_denied_ingress=\+(\d+)", RegexOptions.Multiline);
        Assert.True(check.Success, $"no policy-check line\n{context}");
        Assert.Equal("0", check.Groups[1].Value);
        Assert.True(long.Parse(check.Groups[2].Value, CultureInfo.InvariantCulture) > 0, $"no policy_denied drops counted\n{context}");
    }

    private static (int Exit, string Stdout, string Stderr) RunSmoke()
    {
        var psi = new ProcessStartInfo(Path.Combine(RepoPaths.Root, "perf", "run.sh"))
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--smoke");
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start perf/run.sh");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Budget))
        {
            // SIGTERM lets run.sh's EXIT trap delete its namespaces; SIGKILL only if that hangs.
            Shell.TryRun(TimeSpan.FromSeconds(5), "kill", "-TERM", process.Id.ToString(CultureInfo.InvariantCulture));
            if (!process.WaitForExit(GraceAfterTerm))
                process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, stdout.Result, $"timed out after {Budget.TotalSeconds} s; " + stderr.Result);
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}

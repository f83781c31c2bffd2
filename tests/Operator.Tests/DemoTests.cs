using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Datapath.Tests.Infrastructure;

namespace Operator.Tests;

/// <summary>
/// `./build.sh demo` end to end: the built demo (demo/bin/Release/net10.0/fastpath-demo.dll) runs seed 000
/// on the real agent with two real etcds; one test lets it finish and reads its summary, the other
/// interrupts it with SIGINT mid-walkthrough and checks that nothing it created is left: no netns of its
/// run, no process whose command line names its run id (agent, etcd), no temp or pin directory.
/// The demo prints what it is about to create on one line before creating it (see DemoMesh).
/// </summary>
public sealed partial class DemoTests
{
    private static readonly TimeSpan FullRunTimeout = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan InterruptTimeout = TimeSpan.FromSeconds(60);
    private const int Interrupted = 130;

    [Fact]
    public void The_demo_walks_through_all_six_steps_of_seed_000_and_exits_0_with_a_passing_summary()
    {
        using var demo = DemoRun.Start();
        int exit = demo.WaitForExit(FullRunTimeout);
        string output = demo.Output;
        Assert.True(exit == 0, $"the demo exited with {exit}:\n{output}");
        for (int step = 1; step <= 6; step++)
            Assert.Matches($@"(?m)^step {step} pass: ", output);
        Assert.Contains("demo passed: all 6 steps behaved as expected", output);
        // The evidence the narration promises: the CLI's service listing and a policy drop in observe.
        Assert.Contains("fastpath service list --clustermesh-affinity", output);
        Assert.Contains("policy_denied", output);
        AssertNothingLeft(demo.Resources(), output);
    }

    [Fact]
    public void Sigint_in_the_middle_of_the_demo_removes_everything_it_created()
    {
        using var demo = DemoRun.Start();
        demo.WaitForOutput("Step 2", FullRunTimeout);
        Assert.Equal(0, Kill(demo.Pid, Sigint));
        int exit = demo.WaitForExit(InterruptTimeout);
        string output = demo.Output;
        Assert.True(exit == Interrupted, $"the demo exited with {exit} after SIGINT (expected {Interrupted}):\n{output}");
        AssertNothingLeft(demo.Resources(), output);
    }

    private static void AssertNothingLeft(RunResources run, string output)
    {
        string netns = Shell.Run("ip", "netns", "list");
        foreach (string name in run.Netns)
            Assert.False(netns.Contains(name, StringComparison.Ordinal), $"netns {name} of run {run.Id} is left:\n{netns}\n{output}");
        // Veths live inside the run's namespaces; none may have leaked into the root namespace.
        string links = Shell.Run("ip", "-o", "link", "show");
        Assert.False(links.Contains(run.Id, StringComparison.Ordinal), $"a link named after run {run.Id} is left:\n{links}");
        Assert.False(Directory.Exists(run.TempDir), $"{run.TempDir} is left");
        Assert.False(Directory.Exists(run.PinDir), $"{run.PinDir} is left");
        Assert.Empty(Directory.GetDirectories(Path.GetTempPath(), $"fp-etcd-demo-*-{run.Id}*"));
        var survivors = ProcessesNaming(run.Id);
        Assert.True(survivors.Count == 0, $"processes of run {run.Id} are left: {string.Join("; ", survivors)}");
    }

    /// <summary>Command lines (from /proc) that contain <paramref name="text"/>: the agent's pin dir and the etcds' data dirs carry the run id.</summary>
    private static List<string> ProcessesNaming(string text)
    {
        var found = new List<string>();
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == Environment.ProcessId)
                continue;
            try
            {
                string cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(text, StringComparison.Ordinal))
                    found.Add($"{pid}: {cmdline}");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    private sealed record RunResources(string Id, string[] Netns, string TempDir, string PinDir);

    /// <summary>The demo as a child process; its output is collected by the process's reader callbacks.</summary>
    private sealed partial class DemoRun : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private DemoRun(Process process) => _process = process;

        public int Pid => _process.Id;

        public string Output
        {
            get { lock (_output) return _output.ToString(); }
        }

        public static DemoRun Start()
        {
            string dll = Path.Combine(RepoPaths.Root, "demo", "bin", "Release", "net10.0", "fastpath-demo.dll");
            Assert.True(File.Exists(dll), $"{dll} is missing: build the solution (./build.sh build)");
            // Through `env --default-signal=INT` (which execs, keeping the pid): a test runner started
            // in the background inherits SIGINT as ignored, children inherit that too, and .NET then
            // never delivers SIGINT to the demo's handler — as a terminal's Ctrl-C would.
            var info = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string arg in new[] { "--default-signal=INT", "dotnet", dll })
                info.ArgumentList.Add(arg);
            var run = new DemoRun(Process.Start(info)!);
            run._process.OutputDataReceived += (_, e) => run.Append(e.Data);
            run._process.ErrorDataReceived += (_, e) => run.Append(e.Data);
            run._process.BeginOutputReadLine();
            run._process.BeginErrorReadLine();
            return run;
        }

        private void Append(string? line)
        {
            if (line is null)
                return;
            lock (_output)
            {
                _output.AppendLine(line);
                Monitor.PulseAll(_output);
            }
        }

        public void WaitForOutput(string text, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            lock (_output)
            {
                while (!_output.ToString().Contains(text, StringComparison.Ordinal))
                {
                    var left = deadline - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero || _process.HasExited)
                        throw new TimeoutException($"the demo did not print '{text}' within {timeout.TotalSeconds:0} s:\n{_output}");
                    Monitor.Wait(_output, TimeSpan.FromMilliseconds(200));
                }
            }
        }

        /// <summary>Waits for exit (the redirected streams drained); kills and fails after the timeout.</summary>
        public int WaitForExit(TimeSpan timeout)
        {
            if (!_process.WaitForExit(timeout))
            {
                _process.Kill(entireProcessTree: true);
                Assert.Fail($"the demo did not finish within {timeout.TotalSeconds:0} s:\n{Output}");
            }
            _process.WaitForExit();
            return _process.ExitCode;
        }

        public RunResources Resources()
        {
            Match m = ResourcesLine().Match(Output);
            Assert.True(m.Success, $"the demo never said what it creates:\n{Output}");
            return new RunResources(m.Groups["id"].Value, m.Groups["netns"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries),
                m.Groups["tmp"].Value, m.Groups["pin"].Value);
        }

        [GeneratedRegex(@"run (?<id>[0-9a-f]+): netns (?<netns>[^;]+); temp dir (?<tmp>[^;]+); pin dir (?<pin>\S+)")]
        private static partial Regex ResourcesLine();

        public void Dispose()
        {
            // A failed assertion must not leave the demo running: SIGTERM lets it clean up, then kill.
            if (!_process.HasExited)
            {
                Kill(_process.Id, Sigterm);
                if (!_process.WaitForExit(InterruptTimeout))
                    _process.Kill(entireProcessTree: true);
            }
            _process.Dispose();
        }
    }

    private const int Sigint = 2, Sigterm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

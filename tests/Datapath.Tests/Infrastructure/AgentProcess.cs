using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Datapath.Tests.Infrastructure;

/// <summary>
/// The real agent (bin/fastpath agent) started inside a namespace with `ip netns exec`, which
/// execs in place, so the process we hold is the agent itself. Its log is captured for waits and
/// for failure messages. Dispose sends SIGTERM (the agent detaches XDP and unpins), then kills
/// after a bounded wait.
/// </summary>
public sealed partial class AgentProcess : IDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly object _gate = new();

    private AgentProcess(Process process) => _process = process;

    public string Log
    {
        get { lock (_gate) return _log.ToString(); }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The agent's pid (`ip netns exec` execs in place).</summary>
    public int Pid => _process.Id;

    public int ExitCode => _process.ExitCode;

    public static AgentProcess Start(NetNs ns, params string[] agentArgs)
    {
        if (!File.Exists(RepoPaths.Agent))
            throw new InvalidOperationException($"{RepoPaths.Agent} is missing: run ./build.sh build first");
        var info = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "netns", "exec", ns.Name, RepoPaths.Agent, "agent" }.Concat(agentArgs))
            info.ArgumentList.Add(arg);
        var agent = new AgentProcess(Process.Start(info)!);
        agent._process.OutputDataReceived += (_, e) => agent.Append(e.Data);
        agent._process.ErrorDataReceived += (_, e) => agent.Append(e.Data);
        agent._process.BeginOutputReadLine();
        agent._process.BeginErrorReadLine();
        try
        {
            agent.WaitForLog("fastpath: ready", ReadyTimeout);
        }
        catch
        {
            agent.Dispose();
            throw;
        }
        return agent;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_gate)
        {
            _log.AppendLine(line);
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Waits until the log contains text; throws with the log so far when it does not.</summary>
    public void WaitForLog(string text, TimeSpan timeout) => WaitForLog(text, timeout, occurrences: 1);

    /// <summary>Waits until the log contains text at least <paramref name="occurrences"/> times.</summary>
    public void WaitForLog(string text, TimeSpan timeout, int occurrences)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            while (true)
            {
                string log = _log.ToString();
                if (Count(log, text) >= occurrences)
                    return;
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || _process.HasExited)
                    throw new TimeoutException($"agent did not log '{text}' (x{occurrences}) within {timeout.TotalSeconds:0} s" +
                        (_process.HasExited ? $" (it exited with {_process.ExitCode})" : "") + $"; its log:\n{log}");
                Monitor.Wait(_gate, left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
            }
        }
    }

    private static int Count(string haystack, string needle)
    {
        int count = 0;
        for (int i = haystack.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = haystack.IndexOf(needle, i + needle.Length, StringComparison.Ordinal))
            count++;
        return count;
    }

    /// <summary>SIGTERM, then waits for a clean exit; returns the exit code (or -1 when it had to be killed).</summary>
    public int Stop(TimeSpan timeout)
    {
        if (_process.HasExited)
            return _process.ExitCode;
        Kill(_process.Id, 15);
        if (_process.WaitForExit(timeout))
        {
            _process.WaitForExit(); // drain the redirected streams
            return _process.ExitCode;
        }
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(5000);
        return -1;
    }

    /// <summary>SIGKILL, as the OOM killer or a node under pressure would: no clean-up runs.</summary>
    public void KillHard(TimeSpan timeout)
    {
        if (_process.HasExited)
            return;
        Kill(_process.Id, 9);
        if (!_process.WaitForExit(timeout))
            throw new TimeoutException($"agent {_process.Id} still running {timeout.TotalSeconds} s after SIGKILL");
        _process.WaitForExit();
    }

    public void Dispose()
    {
        try
        {
            Stop(TimeSpan.FromSeconds(10));
        }
        finally
        {
            _process.Dispose();
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

using System.Diagnostics;

namespace Datapath.Tests.Infrastructure;

/// <summary>Runs a program to completion (bounded by a timeout) and throws with its stderr on failure.</summary>
public static class Shell
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs file with args; returns stdout. Throws when it exits non-zero or times out.</summary>
    public static string Run(string file, params string[] args) => Run(DefaultTimeout, file, args);

    public static string Run(TimeSpan timeout, string file, params string[] args)
    {
        var (exit, stdout, stderr) = TryRun(timeout, file, args);
        if (exit != 0)
            throw new InvalidOperationException(
                $"'{file} {string.Join(' ', args)}' exited with {exit}: {stderr.Trim()} {stdout.Trim()}");
        return stdout;
    }

    /// <summary>Like Run but returns the exit code instead of throwing (-1 on timeout).</summary>
    public static (int ExitCode, string Stdout, string Stderr) TryRun(TimeSpan timeout, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit();
            return (-1, stdout.Result, $"timed out after {timeout.TotalSeconds} s; " + stderr.Result);
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

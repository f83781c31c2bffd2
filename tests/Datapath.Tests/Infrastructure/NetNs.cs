using System.Runtime.InteropServices;

namespace Datapath.Tests.Infrastructure;

/// <summary>
/// A network namespace created for one test run, with a unique name. <see cref="RunInside{T}"/>
/// runs code on a dedicated OS thread that has entered the namespace (setns), so sockets,
/// netlink lookups and XDP attachments made there belong to the namespace; the resulting
/// sockets/fds can be used from any thread afterwards. Dispose kills processes left in it
/// and deletes it, even after a failed test.
/// </summary>
public sealed partial class NetNs : IDisposable
{
    private const int CloneNewNet = 0x40000000;
    private static readonly string RunDirectory = "/var/run/netns";

    public string Name { get; }
    public string Path => System.IO.Path.Combine(RunDirectory, Name);
    private bool _disposed;

    private NetNs(string name) => Name = name;

    /// <summary>Creates "prefix-xxxxxx" (random suffix) and brings its loopback up.</summary>
    public static NetNs Create(string prefix = "fpt")
    {
        string name = $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";
        Shell.Run("ip", "netns", "add", name);
        var ns = new NetNs(name);
        try
        {
            ns.Exec("ip", "link", "set", "lo", "up");
        }
        catch
        {
            ns.Dispose();
            throw;
        }
        return ns;
    }

    /// <summary>Runs a program inside the namespace (ip netns exec); returns stdout, throws on failure.</summary>
    public string Exec(params string[] args) => Shell.Run("ip", ["netns", "exec", Name, .. args]);

    /// <summary>Like Exec but returns the exit code.</summary>
    public int TryExec(TimeSpan timeout, params string[] args) =>
        Shell.TryRun(timeout, "ip", ["netns", "exec", Name, .. args]).ExitCode;

    /// <summary>The ifindex of a device inside the namespace.</summary>
    public int Ifindex(string device) =>
        int.Parse(Exec("cat", $"/sys/class/net/{device}/ifindex").Trim());

    /// <summary>The MAC address of a device inside the namespace, as "aa:bb:cc:dd:ee:ff".</summary>
    public string Mac(string device) => Exec("cat", $"/sys/class/net/{device}/address").Trim();

    /// <summary>
    /// Runs func on a fresh OS thread that entered this namespace first; rethrows its exception.
    /// The thread ends afterwards, so the namespace switch never leaks into the thread pool.
    /// </summary>
    public T RunInside<T>(Func<T> func)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using (var handle = File.OpenHandle(Path))
                {
                    if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                        throw new InvalidOperationException(
                            $"setns into {Name} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
                }
                result = func();
            }
            catch (Exception e)
            {
                failure = e;
            }
        }) { IsBackground = true, Name = $"netns {Name}" };
        thread.Start();
        thread.Join();
        if (failure is not null)
            throw new AggregateException($"code inside netns {Name} failed", failure);
        return result;
    }

    public void RunInside(Action action) => RunInside(() => { action(); return 0; });

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        // Processes still inside (a forgotten listener) would keep the namespace alive.
        var (_, pids, _) = Shell.TryRun(TimeSpan.FromSeconds(5), "ip", "netns", "pids", Name);
        foreach (var pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (int.TryParse(pid, out int id) && id != Environment.ProcessId)
                Shell.TryRun(TimeSpan.FromSeconds(5), "kill", "-9", id.ToString());
        Shell.TryRun(TimeSpan.FromSeconds(10), "ip", "netns", "delete", Name);
    }
}

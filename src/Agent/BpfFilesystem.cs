using System.Runtime.InteropServices;

namespace FastPath.Agent;

/// <summary>
/// Makes sure the pin directory's parent is a bpffs mount. `ip netns exec` and some hosts start
/// the agent without /sys/fs/bpf mounted; like cilium-agent, mount it rather than fail.
/// </summary>
internal static partial class BpfFilesystem
{
    private const string Root = "/sys/fs/bpf";

    public static void EnsureMounted(string pinDirectory)
    {
        if (!pinDirectory.StartsWith(Root + "/", StringComparison.Ordinal) || IsMounted())
            return;
        Directory.CreateDirectory(Root);
        if (Mount("bpf", Root, "bpf", 0, IntPtr.Zero) != 0)
            throw new InvalidOperationException(
                $"{Root} is not a bpffs mount and mounting one failed (errno {Marshal.GetLastPInvokeError()}); run `mount -t bpf bpf {Root}`");
        AgentLog.Info($"mounted bpffs on {Root}");
    }

    private static bool IsMounted() =>
        File.ReadLines("/proc/self/mounts").Any(line => line.Split(' ') is [_, Root, "bpf", ..]);

    [LibraryImport("libc", EntryPoint = "mount", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Mount(string source, string target, string type, ulong flags, IntPtr data);
}

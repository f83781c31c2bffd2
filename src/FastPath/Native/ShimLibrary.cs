using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastPath.Native;

/// <summary>
/// Finds libfpshim.so for every [LibraryImport("fpshim")] in this assembly. Search order:
/// $FASTPATH_NATIVE_DIR, the app's base directory, then out/native/ of the source tree
/// (walking up from the base directory to the folder holding FastPath.sln) — so tests and
/// a development build work without copying the library around.
/// </summary>
internal static class ShimLibrary
{
    internal const string Name = "fpshim";
    internal const string FileName = "libfpshim.so";
    internal const string SteerObjectFileName = "fp_steer.bpf.o";
    internal const string DirectoryVariable = "FASTPATH_NATIVE_DIR";

#pragma warning disable CA2255 // a module initializer is the only hook that runs before the first import
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(ShimLibrary).Assembly, Resolve);

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != Name)
            return IntPtr.Zero;
        string? path = FindFile(FileName);
        return path is not null && NativeLibrary.TryLoad(path, out var handle) ? handle : IntPtr.Zero;
    }

    /// <summary>Full path of a native artifact (library or BPF object), or null when none is found.</summary>
    public static string? FindFile(string fileName)
    {
        foreach (var dir in CandidateDirectories())
        {
            string candidate = Path.Combine(dir, fileName);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>Like <see cref="FindFile"/> but says where it looked when nothing is there.</summary>
    public static string RequireFile(string fileName) =>
        FindFile(fileName) ?? throw new FileNotFoundException(
            $"{fileName} not found in {string.Join(", ", CandidateDirectories())}; build it with " +
            $"'make -C native OUT=<repo>/out/native' or set {DirectoryVariable}", fileName);

    private static IEnumerable<string> CandidateDirectories()
    {
        string? env = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (!string.IsNullOrEmpty(env))
            yield return env;
        yield return AppContext.BaseDirectory;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FastPath.sln")))
            {
                yield return Path.Combine(dir.FullName, "out", "native");
                yield break;
            }
        }
    }
}

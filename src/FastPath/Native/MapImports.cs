using System.Runtime.InteropServices;

namespace FastPath.Native;

/// <summary>fp_map__* and fp_cpu__*: generic BPF map operations (native/shim/fp_bpf.c).</summary>
internal static unsafe partial class MapImports
{
    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_map__update")]
    internal static partial int Update(int fd, void* key, void* value, ulong flags);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_map__delete")]
    internal static partial int Delete(int fd, void* key);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_map__lookup")]
    internal static partial int Lookup(int fd, void* key, void* value);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_map__update_batch")]
    internal static partial int UpdateBatch(int fd, void* keys, void* values, uint* count);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_map__delete_batch")]
    internal static partial int DeleteBatch(int fd, void* keys, uint* count);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_map__lookup_percpu")]
    internal static partial int LookupPerCpu(int fd, void* key, void* values, uint valueSize, uint cpuCapacity);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "fp_cpu__possible_count")]
    internal static partial int PossibleCpuCount();
}

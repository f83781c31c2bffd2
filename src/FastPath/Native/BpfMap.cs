using System.Runtime.CompilerServices;

namespace FastPath.Native;

/// <summary>
/// One BPF map by fd (owned by <see cref="SteeringProgram"/>). Key/value types must have the
/// map's exact sizes; that is checked on every call (a compare, no allocation) because a wrong
/// size would read or write past the caller's struct inside the kernel.
/// Single-element calls are for the control plane; the batch calls are what workers use
/// (one syscall per RX batch, no allocation).
/// </summary>
public sealed unsafe class BpfMap
{
    private const string Operation = "bpf map";

    public string Name { get; }
    public int Fd { get; }
    public int KeySize { get; }
    public int ValueSize { get; }

    internal BpfMap(string name, int fd, int keySize, int valueSize)
    {
        Name = name;
        Fd = fd;
        KeySize = keySize;
        ValueSize = valueSize;
    }

    /// <summary>Inserts or replaces (BPF_ANY).</summary>
    public void Update<TKey, TValue>(in TKey key, in TValue value)
        where TKey : unmanaged where TValue : unmanaged
    {
        CheckSizes(sizeof(TKey), sizeof(TValue));
        fixed (TKey* k = &key)
        fixed (TValue* v = &value)
        {
            int status = MapImports.Update(Fd, k, v, 0);
            if (status < 0)
                ThrowFailed(status, "update");
        }
    }

    /// <summary>False when the key was not there.</summary>
    public bool Delete<TKey>(in TKey key) where TKey : unmanaged
    {
        CheckSizes(sizeof(TKey), ValueSize);
        fixed (TKey* k = &key)
        {
            int status = MapImports.Delete(Fd, k);
            if (status == -NativeConstants.ENOENT)
                return false;
            if (status < 0)
                ThrowFailed(status, "delete");
            return true;
        }
    }

    public bool TryLookup<TKey, TValue>(in TKey key, out TValue value)
        where TKey : unmanaged where TValue : unmanaged
    {
        CheckSizes(sizeof(TKey), sizeof(TValue));
        value = default;
        fixed (TKey* k = &key)
        fixed (TValue* v = &value)
        {
            int status = MapImports.Lookup(Fd, k, v);
            if (status == -NativeConstants.ENOENT)
                return false;
            if (status < 0)
                ThrowFailed(status, "lookup");
            return true;
        }
    }

    /// <summary>Inserts or replaces keys[i] → values[i]; returns how many were written.</summary>
    public int UpdateBatch<TKey, TValue>(ReadOnlySpan<TKey> keys, ReadOnlySpan<TValue> values)
        where TKey : unmanaged where TValue : unmanaged
    {
        CheckSizes(sizeof(TKey), sizeof(TValue));
        if (keys.Length != values.Length)
            ThrowLengthMismatch();
        uint count = (uint)keys.Length;
        if (count == 0)
            return 0;
        fixed (TKey* k = keys)
        fixed (TValue* v = values)
        {
            int status = MapImports.UpdateBatch(Fd, k, v, &count);
            if (status < 0)
                ThrowFailed(status, "update_batch");
        }
        return (int)count;
    }

    /// <summary>
    /// Deletes the keys; returns how many were deleted. The kernel stops at the first missing
    /// key (ENOENT), so the count tells the caller where; that is not an error here.
    /// </summary>
    public int DeleteBatch<TKey>(ReadOnlySpan<TKey> keys) where TKey : unmanaged
    {
        CheckSizes(sizeof(TKey), ValueSize);
        uint count = (uint)keys.Length;
        if (count == 0)
            return 0;
        fixed (TKey* k = keys)
        {
            int status = MapImports.DeleteBatch(Fd, k, &count);
            if (status < 0 && status != -NativeConstants.ENOENT)
                ThrowFailed(status, "delete_batch");
        }
        return (int)count;
    }

    /// <summary>
    /// Per-CPU lookup: fills perCpu[0..cpus) and returns the number of possible CPUs.
    /// TValue must be 8-byte sized (the kernel's per-CPU stride rounds up to 8).
    /// </summary>
    public int LookupPerCpu<TKey, TValue>(in TKey key, Span<TValue> perCpu)
        where TKey : unmanaged where TValue : unmanaged
    {
        CheckSizes(sizeof(TKey), sizeof(TValue));
        if (sizeof(TValue) % 8 != 0)
            throw new ArgumentException($"per-CPU value size {sizeof(TValue)} is not a multiple of 8", nameof(perCpu));
        fixed (TKey* k = &key)
        fixed (TValue* v = perCpu)
            return NativeException.Check(
                MapImports.LookupPerCpu(Fd, k, v, (uint)sizeof(TValue), (uint)perCpu.Length),
                $"lookup_percpu {Name}");
    }

    /// <summary>Number of possible CPUs: the length a per-CPU lookup buffer needs.</summary>
    public static int PossibleCpuCount =>
        s_possibleCpus != 0 ? s_possibleCpus
            : s_possibleCpus = NativeException.Check(MapImports.PossibleCpuCount(), "libbpf_num_possible_cpus");

    private static int s_possibleCpus; // 0 until first asked; the value never changes while we run

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckSizes(int keySize, int valueSize)
    {
        if (keySize != KeySize || valueSize != ValueSize)
            ThrowSizeMismatch(keySize, valueSize);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowSizeMismatch(int keySize, int valueSize) =>
        throw new ArgumentException(
            $"map {Name} has key {KeySize} / value {ValueSize} bytes, called with {keySize} / {valueSize}");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowLengthMismatch() =>
        throw new ArgumentException("keys and values must have the same length");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowFailed(int status, string verb) => NativeException.Throw(-status, $"{Operation} {verb} {Name}");
}

using System.Runtime.InteropServices;

namespace FastPath.Native;

/// <summary>
/// A libfpshim call failed with -errno. Thrown only while setting things up (load, attach,
/// socket creation, map writes from the control plane), never per packet.
/// </summary>
public sealed class NativeException : Exception
{
    public int Errno { get; }
    public string Operation { get; }

    public NativeException(int errno, string operation)
        : base($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
    {
        Errno = errno;
        Operation = operation;
    }

    /// <summary>Throws when a shim status is negative; returns it otherwise (counts, fds).</summary>
    internal static int Check(int status, string operation)
    {
        if (status < 0)
            Throw(-status, operation);
        return status;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static void Throw(int errno, string operation) => throw new NativeException(errno, operation);
}

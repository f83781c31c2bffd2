namespace FastPath.Native;

/// <summary>Mirrors native/include/fp_consts.h; change both together.</summary>
public static class NativeConstants
{
    /// <summary>Device slots 0..MaxDevices-1 (fp_dev_slots values).</summary>
    public const int MaxDevices = 64;
    /// <summary>RX queues per device; fp_xsks key = slot * MaxQueues + queue.</summary>
    public const int MaxQueues = 64;
    public const int ServicesMaxEntries = 65536;
    public const int FlowsMaxEntries = 1048576;
    /// <summary>Default UMEM frame size in bytes (one page).</summary>
    public const int DefaultFrameSize = 4096;

    internal const int AfInet = 2;
    internal const int AfInet6 = 10;
    internal const int ENOENT = 2;
    internal const int EAGAIN = 11;
    internal const int ENOBUFS = 105;
    internal const int ECANCELED = 125;
}

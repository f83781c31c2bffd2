namespace FastPath.Xsk;

/// <summary>
/// AF_XDP bind mode (values match enum fp_xsk_bind_mode). Applies to the first socket of a
/// UMEM only: sockets sharing the UMEM inherit it (the kernel refuses mode flags with
/// XDP_SHARED_UMEM). veth supports Copy only.
/// </summary>
public enum XskBindMode
{
    /// <summary>Zero-copy when the driver supports it, else copy.</summary>
    Default = 0,
    Copy = 1,
    /// <summary>Fails at bind when the driver cannot do zero-copy.</summary>
    ZeroCopy = 2,
}

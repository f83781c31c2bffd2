namespace FastPath.Native;

/// <summary>XDP verdicts (enum xdp_action in linux/bpf.h).</summary>
public enum XdpAction : uint
{
    Aborted = 0,
    Drop = 1,
    Pass = 2,
    Tx = 3,
    Redirect = 4,
}

using FastPath.Maglev;
using FastPath.Native;
using FastPath.Xsk;

namespace FastPath.Runtime;

/// <summary>What the agent decided at start-up for the datapath (already validated).</summary>
/// <param name="RingSize">Entries per AF_XDP ring (RX, TX, fill, completion); a power of two.</param>
/// <param name="FramesPerSocket">UMEM frames per socket: fill ring + frames in flight toward TX.</param>
public sealed record DatapathOptions(
    string BpfObjectPath,
    string PinDirectory,
    XdpMode XdpMode,
    XskBindMode BindMode,
    int CtCapacity,
    MaglevParameters Maglev,
    int RingSize = 1024,
    int FramesPerSocket = 2048);

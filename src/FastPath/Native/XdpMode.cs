namespace FastPath.Native;

/// <summary>How XDP is attached (--xdp-mode). Values match enum fp_xdp_mode in fp_consts.h.</summary>
public enum XdpMode
{
    /// <summary>In the driver (XDP_FLAGS_DRV_MODE); fails when the driver has no XDP support.</summary>
    Native = 0,
    /// <summary>In the generic stack after skb allocation (XDP_FLAGS_SKB_MODE): slower, always available.</summary>
    Generic = 1,
    /// <summary>Native, falling back to generic; the mode actually used is returned.</summary>
    Auto = 2,
}

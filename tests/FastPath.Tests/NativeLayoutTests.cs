using FastPath.Conntrack;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastPath.Native;
using FastPath.Xsk;

namespace FastPath.Tests;

/// <summary>
/// The C# mirrors of native/include/fp_structs.h (and linux/if_xdp.h's xdp_desc) must have the
/// sizes and offsets the C side asserts with _Static_assert; a mismatch corrupts map keys or
/// ring descriptors silently, so every field offset is pinned here.
/// </summary>
public class NativeLayoutTests
{
    public static TheoryData<Type, int> Sizes => new()
    {
        { typeof(ServiceMapKey), 20 },
        { typeof(ServiceMapValue), 4 },
        { typeof(FlowReplyKey), 40 },
        { typeof(FlowMapValue), 4 },
        { typeof(FpRingInfo), 40 },
        { typeof(FpXskConfig), 32 },
        { typeof(FpXskInfo), 168 },
        { typeof(FpUmemInfo), 24 },
        { typeof(XdpStatistics), 48 },
        { typeof(FpSteerFds), 24 },
        { typeof(FpNextHop), 36 },
        { typeof(XdpDesc), 16 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Struct_has_the_size_the_C_header_asserts(Type type, int expected)
    {
        var sizeOf = typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(type);
        Assert.Equal(expected, (int)sizeOf.Invoke(null, null)!);
        Assert.Equal(expected, Marshal.SizeOf(type));
    }

    public static TheoryData<Type, string, int> Offsets => new()
    {
        { typeof(ServiceMapKey), nameof(ServiceMapKey.Address), 0 },
        { typeof(ServiceMapKey), nameof(ServiceMapKey.PortRaw), 16 },
        { typeof(ServiceMapKey), nameof(ServiceMapKey.Protocol), 18 },
        { typeof(ServiceMapKey), nameof(ServiceMapKey.Pad), 19 },
        { typeof(FlowReplyKey), nameof(FlowReplyKey.Source), 0 },
        { typeof(FlowReplyKey), nameof(FlowReplyKey.Destination), 16 },
        { typeof(FlowReplyKey), nameof(FlowReplyKey.SourcePortRaw), 32 },
        { typeof(FlowReplyKey), nameof(FlowReplyKey.DestinationPortRaw), 34 },
        { typeof(FlowReplyKey), nameof(FlowReplyKey.Protocol), 36 },
        { typeof(FpRingInfo), nameof(FpRingInfo.Producer), 0 },
        { typeof(FpRingInfo), nameof(FpRingInfo.Consumer), 8 },
        { typeof(FpRingInfo), nameof(FpRingInfo.Flags), 16 },
        { typeof(FpRingInfo), nameof(FpRingInfo.Descs), 24 },
        { typeof(FpRingInfo), nameof(FpRingInfo.Size), 32 },
        { typeof(FpRingInfo), nameof(FpRingInfo.Mask), 36 },
        { typeof(FpXskConfig), nameof(FpXskConfig.Ifindex), 0 },
        { typeof(FpXskConfig), nameof(FpXskConfig.Queue), 4 },
        { typeof(FpXskConfig), nameof(FpXskConfig.RxSize), 8 },
        { typeof(FpXskConfig), nameof(FpXskConfig.TxSize), 12 },
        { typeof(FpXskConfig), nameof(FpXskConfig.FillSize), 16 },
        { typeof(FpXskConfig), nameof(FpXskConfig.CompSize), 20 },
        { typeof(FpXskConfig), nameof(FpXskConfig.BindMode), 24 },
        { typeof(FpXskInfo), nameof(FpXskInfo.Fd), 0 },
        { typeof(FpXskInfo), nameof(FpXskInfo.Rx), 8 },
        { typeof(FpXskInfo), nameof(FpXskInfo.Tx), 48 },
        { typeof(FpXskInfo), nameof(FpXskInfo.Fill), 88 },
        { typeof(FpXskInfo), nameof(FpXskInfo.Comp), 128 },
        { typeof(FpUmemInfo), nameof(FpUmemInfo.Base), 0 },
        { typeof(FpUmemInfo), nameof(FpUmemInfo.Size), 8 },
        { typeof(FpUmemInfo), nameof(FpUmemInfo.FrameSize), 16 },
        { typeof(FpUmemInfo), nameof(FpUmemInfo.FrameCount), 20 },
        { typeof(XdpStatistics), nameof(XdpStatistics.RxDropped), 0 },
        { typeof(XdpStatistics), nameof(XdpStatistics.RxRingFull), 24 },
        { typeof(XdpStatistics), nameof(XdpStatistics.TxRingEmptyDescs), 40 },
        { typeof(FpSteerFds), nameof(FpSteerFds.Prog), 0 },
        { typeof(FpSteerFds), nameof(FpSteerFds.Services), 4 },
        { typeof(FpSteerFds), nameof(FpSteerFds.Counters), 20 },
        { typeof(FpNextHop), nameof(FpNextHop.Ifindex), 0 },
        { typeof(FpNextHop), nameof(FpNextHop.NudState), 4 },
        { typeof(FpNextHop), nameof(FpNextHop.HasGateway), 6 },
        { typeof(FpNextHop), nameof(FpNextHop.SourceMac), 8 },
        { typeof(FpNextHop), nameof(FpNextHop.DestinationMac), 14 },
        { typeof(FpNextHop), nameof(FpNextHop.Gateway), 20 },
        { typeof(XdpDesc), nameof(XdpDesc.Addr), 0 },
        { typeof(XdpDesc), nameof(XdpDesc.Len), 8 },
        { typeof(XdpDesc), nameof(XdpDesc.Options), 12 },
    };

    [Theory]
    [MemberData(nameof(Offsets))]
    public void Field_sits_at_the_offset_of_the_C_field(Type type, string field, int expected)
    {
        Assert.Equal(expected, (int)Marshal.OffsetOf(type, field));
    }

    [Fact]
    public void Service_key_stores_the_port_in_network_order()
    {
        var key = new ServiceMapKey(FastPath.Addressing.NetAddress.Parse("10.0.0.1"), 0x1F90, FastPath.Addressing.L4Protocol.Tcp);
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<ServiceMapKey>(in key));
        Assert.Equal(new byte[] { 0x1F, 0x90, 6, 0 }, bytes.Slice(16, 4).ToArray());
        Assert.Equal(new byte[] { 10, 0, 0, 1 }, bytes.Slice(12, 4).ToArray());
    }

    [Fact]
    public void Steer_counter_names_cover_every_index()
    {
        Assert.Equal(SteerCounters.Count, SteerCounters.Names.Count);
        Assert.Equal("pass_no_match", SteerCounters.Names[SteerCounters.PassNoMatch]);
        Assert.Equal("redirect_reply", SteerCounters.Names[SteerCounters.RedirectReply]);
    }
}

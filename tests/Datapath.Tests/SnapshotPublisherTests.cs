using FastPath.Addressing;
using FastPath.Maglev;
using FastPath.Native;
using FastPath.Runtime;
using FastPath.Snapshot;

namespace Datapath.Tests;

/// <summary>
/// SnapshotPublisher against the real fp_services map of a loaded steering program: the map holds
/// exactly the frontends of the published snapshot after every publish (VIPs of the next snapshot
/// are added before it goes live, VIPs it dropped are removed after).
/// </summary>
public class SnapshotPublisherTests
{
    private static ForwardingSnapshot Snapshot(long revision, params (string Vip, ushort Port, L4Protocol Protocol)[] frontends)
    {
        var builder = new ForwardingSnapshotBuilder(MaglevParameters.Default);
        foreach (var (vip, port, protocol) in frontends)
            builder.AddFrontend(NetAddress.Parse(vip), port, protocol, "default", $"svc-{port}", []);
        return builder.Build(revision);
    }

    private static bool InMap(SteeringProgram program, string vip, ushort port, L4Protocol protocol) =>
        program.Services.TryLookup<ServiceMapKey, ServiceMapValue>(new ServiceMapKey(NetAddress.Parse(vip), port, protocol), out _);

    [Fact]
    public void Publishing_keeps_the_services_map_equal_to_the_live_snapshots_frontends()
    {
        string pin = $"/sys/fs/bpf/fastpath-pub-{Guid.NewGuid().ToString("N")[..6]}";
        using var program = SteeringProgram.Load(SteeringProgram.DefaultObjectPath, pin);
        var publisher = new SnapshotPublisher(ForwardingSnapshot.Empty(MaglevParameters.Default), program.Services, resolver: null);
        var seen = new List<long>();
        publisher.Published += (snapshot, _) => seen.Add(snapshot.Revision);

        publisher.Publish(Snapshot(1, ("10.96.0.1", 80, L4Protocol.Tcp), ("10.96.0.2", 53, L4Protocol.Udp)));
        Assert.True(InMap(program, "10.96.0.1", 80, L4Protocol.Tcp));
        Assert.True(InMap(program, "10.96.0.2", 53, L4Protocol.Udp));
        Assert.False(InMap(program, "10.96.0.2", 53, L4Protocol.Tcp));

        publisher.Publish(Snapshot(2, ("10.96.0.2", 53, L4Protocol.Udp), ("fd00::10", 443, L4Protocol.Tcp)));
        Assert.False(InMap(program, "10.96.0.1", 80, L4Protocol.Tcp));
        Assert.True(InMap(program, "10.96.0.2", 53, L4Protocol.Udp));
        Assert.True(InMap(program, "fd00::10", 443, L4Protocol.Tcp));
        Assert.Equal(2, publisher.Current.Revision);
        Assert.Equal([1L, 2L], seen);
    }
}

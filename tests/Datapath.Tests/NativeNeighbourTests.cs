using System.Net;
using Datapath.Tests.Infrastructure;
using FastPath.Addressing;
using FastPath.NextHop;

namespace Datapath.Tests;

/// <summary>
/// NeighbourResolver against the kernel's routing and neighbour tables.
/// <code>
///  netns A (fpna-xxxxxx)                               netns B (fpnb-xxxxxx)
///  veth A 10.79.0.1/24 (slot 3)  &lt;═══ veth ═══&gt;  veth B 10.79.0.2/24
///  route 10.79.50.0/24 via 10.79.0.2
///  veth 10.79.9.1/24 (no slot)   &lt;═══ veth ═══&gt;  veth 10.79.9.2/24
/// </code>
/// The resolver is built inside A, so its rtnetlink socket and lookups belong to A.
/// Tests: an on-link peer resolves to B's MAC with A's MAC as source; a destination behind a
/// gateway resolves to the gateway's MAC; an address nobody answers for stays absent but the
/// kernel has been asked to resolve it (NTF_USE); a destination on a device without a slot and
/// a local address stay absent; a destination whose neighbour (or gateway) becomes usable is
/// resolved on the kernel's event, with retries too far apart to do it.
/// </summary>
public class NativeNeighbourTests
{
    private const int SlotA = 3;
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    public void Resolver_fills_the_table_only_for_destinations_reached_through_slotted_devices()
    {
        using var pair = LinkedPair.Create("n", gateway: "10.79.0.2");
        var (a, b, suffix, vethA, vethB) = (pair.A, pair.B, pair.Suffix, pair.Veth.NameA, pair.Veth.NameB);
        using var other = VethPair.Create(a, $"foa{suffix}", b, $"fob{suffix}");
        a.Exec("ip", "addr", "add", "10.79.9.1/24", "dev", other.NameA);
        b.Exec("ip", "addr", "add", "10.79.9.2/24", "dev", other.NameB);
        int ifindexA = a.Ifindex(vethA);
        var macA = MacAddress.Parse(a.Mac(vethA));
        var macB = MacAddress.Parse(b.Mac(vethB));

        using var resolver = a.RunInside(() => new NeighbourResolver(ifindex => ifindex == ifindexA ? SlotA : null));
        var peer = NetAddress.Parse("10.79.0.2");
        var behindGateway = NetAddress.Parse("10.79.50.7");
        var silent = NetAddress.Parse("10.79.0.99");       // on-link, nobody answers ARP
        var unslotted = NetAddress.Parse("10.79.9.2");     // answers ARP, but via a device without a slot
        var local = NetAddress.Parse("10.79.0.1");         // our own address
        foreach (var destination in new[] { peer, behindGateway, silent, unslotted, local })
            resolver.Want(destination);

        NextHopTable table = WaitFor(resolver, t => t.TryGet(peer, out _) && t.TryGet(behindGateway, out _));
        Assert.True(table.TryGet(peer, out var hop));
        Assert.Equal(new NextHop(SlotA, macA, macB), hop);
        Assert.True(table.TryGet(behindGateway, out var viaGateway));
        Assert.Equal(macB, viaGateway.Destination);

        Assert.False(table.TryGet(silent, out _));
        Assert.False(table.TryGet(unslotted, out _));
        Assert.False(table.TryGet(local, out _));
        // The shim's NTF_USE made the kernel start ARP for the silent address.
        string neighbours = a.Exec("ip", "neigh", "show", "10.79.0.99");
        Assert.Contains("10.79.0.99", neighbours);
    }

    [Fact]
    public void A_neighbour_that_becomes_usable_is_picked_up_from_the_kernels_event_not_a_retry()
    {
        using var pair = LinkedPair.Create("e", gateway: "10.79.0.3");  // a gateway nobody answers for
        var (a, vethA) = (pair.A, pair.Veth.NameA);
        int ifindexA = a.Ifindex(vethA);

        // Retries an hour apart: after the first attempt, only a neighbour event can resolve these.
        var never = TimeSpan.FromHours(1);
        using var resolver = a.RunInside(() => new NeighbourResolver(ifindex => ifindex == ifindexA ? SlotA : null, never, never));
        var onLink = NetAddress.Parse("10.79.0.99");
        var behindGateway = NetAddress.Parse("10.79.50.7");
        var unrelated = NetAddress.Parse("10.79.0.98");
        foreach (var destination in new[] { onLink, behindGateway, unrelated })
            resolver.Want(destination);
        // The first attempts asked the kernel to resolve (NTF_USE), and it is soliciting both.
        WaitForKernelEntry(a, "10.79.0.99");
        WaitForKernelEntry(a, "10.79.0.3");
        Assert.Equal(0, resolver.Current.Count);

        // The "answers": permanent entries, each announced by an RTM_NEWNEIGH.
        a.Exec("ip", "neigh", "replace", "10.79.0.99", "lladdr", "02:00:00:00:00:99", "dev", vethA, "nud", "permanent");
        a.Exec("ip", "neigh", "replace", "10.79.0.3", "lladdr", "02:00:00:00:00:03", "dev", vethA, "nud", "permanent");

        NextHopTable table = WaitFor(resolver, t => t.TryGet(onLink, out _) && t.TryGet(behindGateway, out _));
        Assert.True(table.TryGet(onLink, out var hop), "the on-link destination was not retried on its neighbour's event");
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:99"), hop.Destination);
        Assert.True(table.TryGet(behindGateway, out var viaGateway), "the destination behind the gateway was not retried on the gateway's event");
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:03"), viaGateway.Destination);
        Assert.False(table.TryGet(unrelated, out _));
        Assert.True(resolver.NeighbourEvents >= 2, $"{resolver.NeighbourEvents} neighbour events seen");
    }

    [Fact]
    public void Want_from_many_threads_at_once_loses_nothing_below_the_queue_capacity()
    {
        using var a = NetNs.Create("fpnq");
        using var resolver = a.RunInside(() => new NeighbourResolver(_ => null));
        // Loopback-only namespace: nothing resolves, the point is that Want never blocks or throws.
        Parallel.For(0, 4, worker =>
        {
            for (int i = 0; i < 500; i++)
                resolver.Want(NetAddress.FromIPAddress(new IPAddress(new byte[] { 10, 80, (byte)worker, (byte)(i % 250) })));
        });
        Assert.Equal(0, resolver.DroppedWants);
        Assert.Equal(0, resolver.Current.Count);
    }

    /// <summary>The diagram's netns A and B and the veth between them (A 10.79.0.1/24, B 10.79.0.2/24),
    /// with A routing 10.79.50.0/24 via <c>gateway</c>; everything removed on Dispose.</summary>
    private sealed class LinkedPair(NetNs a, NetNs b, VethPair veth) : IDisposable
    {
        public NetNs A => a;
        public NetNs B => b;
        public VethPair Veth => veth;
        public string Suffix => a.Name[^6..];

        public static LinkedPair Create(string tag, string gateway)
        {
            var a = NetNs.Create($"fp{tag}a");
            NetNs? b = null;
            VethPair? veth = null;
            try
            {
                b = NetNs.Create($"fp{tag}b");
                string suffix = a.Name[^6..];
                veth = VethPair.Create(a, $"f{tag}a{suffix}", b, $"f{tag}b{suffix}");
                a.Exec("ip", "addr", "add", "10.79.0.1/24", "dev", veth.NameA);
                b.Exec("ip", "addr", "add", "10.79.0.2/24", "dev", veth.NameB);
                a.Exec("ip", "route", "add", "10.79.50.0/24", "via", gateway);
                return new LinkedPair(a, b, veth);
            }
            catch
            {
                veth?.Dispose();
                b?.Dispose();
                a.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            veth.Dispose();
            b.Dispose();
            a.Dispose();
        }
    }

    private static void WaitForKernelEntry(NetNs ns, string address)
    {
        var deadline = DateTime.UtcNow + ResolveTimeout;
        while (!ns.Exec("ip", "neigh", "show", address).Contains(address))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the kernel never started resolving {address}");
            Thread.Sleep(20);
        }
    }

    private static NextHopTable WaitFor(NeighbourResolver resolver, Func<NextHopTable, bool> done)
    {
        var deadline = DateTime.UtcNow + ResolveTimeout;
        while (DateTime.UtcNow < deadline)
        {
            var table = resolver.Current;
            if (done(table))
                return table;
            Thread.Sleep(20);
        }
        return resolver.Current;
    }
}
